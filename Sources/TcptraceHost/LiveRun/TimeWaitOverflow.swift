import TcptraceCore

/// TIME_WAIT sockets the kernel refused to create because tcp_max_tw_buckets was reached
/// (TcpExtTCPTimeWaitOverflow): how many since the start, and since the last look.
public struct TimeWaitOverflow {
    /// The counter when the run started; nil when /proc/net/netstat does not have it.
    public let atStart: UInt64?
    private var seen: UInt64?

    /// Reads the counter now, as the start.
    public init() {
        atStart = Sysctl.tcpExtCounters().timeWaitOverflow
        seen = atStart
    }

    /// How much the counter grew since the last call (or the start); nil when it did not or
    /// cannot be read.
    public mutating func growth() -> UInt64? {
        let now = Sysctl.tcpExtCounters().timeWaitOverflow
        defer { seen = now ?? seen }
        if let now, let seen, now > seen { return now - seen }
        return nil
    }

    /// Growth over the whole run, read now; nil when it cannot be read.
    public func sinceStart() -> UInt64? {
        guard let atStart, let end = Sysctl.tcpExtCounters().timeWaitOverflow else { return nil }
        return end &- atStart
    }
}
