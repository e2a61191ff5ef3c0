/// Events the run did not deliver, by cause. Loss is never silent.
public struct LostEvents: Hashable, Sendable {
    /// Ring buffer reservations that failed in the kernel: user space fell behind.
    public var ringBufferFull: UInt64 = 0
    /// Tracepoint hits the kernel skipped because the program was already running on that CPU
    /// (bpf_prog_info.recursion_misses), less those the fallback program handled instead.
    public var recursionMisses: UInt64 = 0
    /// Records that arrived but could not be decoded (short or malformed).
    public var undecodable: UInt64 = 0
    /// Gaps in sockets' histories: the kernel ran neither program for at least one transition
    /// of the socket (a hit whose old state is not the state its last hit left it in, or a
    /// socket destroyed in another state), and counted no miss. Each is at least one event.
    public var unseen: UInt64 = 0
    public init() {}
    public var total: UInt64 { ringBufferFull + recursionMisses + undecodable + unseen }
}
