/// The kernel program's own counters (per-CPU array, summed).
public struct KernelCounters: Hashable, Sendable {
    public var seen: UInt64 = 0
    public var filtered: UInt64 = 0
    public var ringBufferFull: UInt64 = 0
    public var noStorage: UInt64 = 0
    /// Hits the main program missed (already running on that CPU) that the fallback handled.
    public var nested: UInt64 = 0
    /// Gaps: sockets found to have made transitions for which the kernel ran neither program
    /// (TCPTRACE_CTR_UNSEEN); at least one transition each.
    public var unseen: UInt64 = 0
    /// Records received from the ring buffer: one per transition, or in aggregated mode one per
    /// batch of a socket's transitions.
    public var ringRecords: UInt64 = 0
    public init() {}
}
