/// What a run saw, for the end-of-run summary.
public struct RunSummary: Sendable {
    public var start: WallTime
    public var end: WallTime
    public var events: UInt64 = 0
    /// Transitions by (old, new) state.
    public var transitionCounts: [StatePair: UInt64] {
        get {
            var d = overflowCounts
            for (i, n) in knownCounts.enumerated() where n > 0 {
                d[StatePair(TCPState(rawValue: UInt8(i >> 4)), TCPState(rawValue: UInt8(i & 15))), default: 0] += n
            }
            return d
        }
        set {
            knownCounts = [UInt64](repeating: 0, count: 256)
            overflowCounts = [:]
            for (pair, n) in newValue { count(pair.old, pair.new, n) }
        }
    }
    /// Counts for states 0-15 by old << 4 | new (no hashing per event); others in a dictionary.
    var knownCounts = [UInt64](repeating: 0, count: 256)
    var overflowCounts: [StatePair: UInt64] = [:]
    public var lost = LostEvents()
    public var kernel = KernelCounters()
    /// Connections that reached CLOSE (connection records).
    public var connections: UInt64 = 0
    /// The same, by role and by who closed, with their retransmissions.
    public var closed = ClosedConnections()
    /// CLOSE_WAIT lingerers, by the process that held them (pid 0, "?" when unknown).
    public var lingerersByHolder: [Owner: UInt64] = [:]
    /// Connection-table entries dropped to stay within its capacity.
    public var tableEvictions: UInt64 = 0
    /// Connections still in the table when the run ended (open, or their CLOSE was lost).
    public var openConnections: UInt64 = 0
    /// Connections that disappeared from the kernel without their CLOSE being seen (events
    /// lost); found by a census after a loss and dropped from the table.
    public var vanishedConnections: UInt64 = 0
    /// Time spent in each state (by state number), from transitions that knew it.
    public var stateDurations = [DurationHistogram](repeating: DurationHistogram(), count: 16)
    /// Client SYN_SENT -> ESTABLISHED.
    public var connectLatency = DurationHistogram()
    /// Connections that went to TIME_WAIT (inferred from the close path), by remote endpoint.
    public var timeWait = TimeWaitTally()
    /// Growth of TcpExtTCPTimeWaitOverflow during the run: TIME_WAIT sockets the kernel did not
    /// create because tcp_max_tw_buckets was reached. nil when /proc/net/netstat was unreadable.
    public var timeWaitOverflow: UInt64?
    /// Failed connects, TIME_WAIT makers and local-port pressure (fed once per connection).
    public var churn = ChurnTracker()

    /// States with at least one measured duration, in state-number order.
    public var measuredStates: [(state: TCPState, histogram: DurationHistogram)] {
        stateDurations.enumerated().compactMap { i, h in h.count > 0 ? (TCPState(rawValue: UInt8(i)), h) : nil }
    }

    public init(start: WallTime) {
        self.start = start
        self.end = start
    }

    public mutating func record(_ l: LingererRecord) {
        guard l.event == .lingering else { return }
        let key = l.holder?.process ?? Owner(pid: 0, comm: "?")
        lingerersByHolder[key, default: 0] += 1
    }

    /// Holders with the most lingerers first.
    public var lingerersRanked: [(holder: Owner, count: UInt64)] {
        lingerersByHolder.map { ($0.key, $0.value) }.sorted { ($1.count, $0.holder.pid) < ($0.count, $1.holder.pid) }
    }

    /// A connection record: counted, by role and closer, and into the TIME_WAIT tally.
    public mutating func record(_ c: ConnectionRecord) {
        connections += 1
        closed.record(c)
        timeWait.record(c)
        churn.record(c)
    }

    public mutating func record(_ t: Transition) {
        events += 1
        count(t.old, t.new, 1)
        if let ns = t.nanosecondsInOld, Int(t.old.rawValue) < stateDurations.count {
            stateDurations[Int(t.old.rawValue)].record(ns)
            if t.old == .synSent && t.new == .established { connectLatency.record(ns) }
        }
    }

    @inline(__always)
    mutating func count(_ old: TCPState, _ new: TCPState, _ n: UInt64) {
        if old.rawValue < 16 && new.rawValue < 16 {
            knownCounts[Int(old.rawValue) << 4 | Int(new.rawValue)] &+= n
        } else {
            overflowCounts[StatePair(old, new), default: 0] += n
        }
    }
}
