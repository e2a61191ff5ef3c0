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
    /// Transitions held in the storage of sockets found destroyed with a gap, lost with them
    /// (TCPTRACE_CTR_UNSEEN_HELD).
    public var unseenHeld: UInt64 = 0
    /// Transitions put into and taken out of the sockets' storage (TCPTRACE_CTR_HELD_IN and
    /// _OUT): the difference is what live sockets hold, and what died with skipped sockets.
    public var heldIn: UInt64 = 0
    public var heldOut: UInt64 = 0
    /// Whether perf counted the hits no program ran for (`lost.unseen` then has every one of
    /// them, not only one per gap found).
    public var skipsCounted = false
    /// Records received from the ring buffer: one per transition, or in aggregated mode one per
    /// batch of a socket's transitions.
    public var ringRecords: UInt64 = 0
    public init() {}
}
