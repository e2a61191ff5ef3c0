/// A pair of states, ordered by (old, new) number.
public struct StatePair: Hashable, Comparable, Sendable {
    public var old: TCPState
    public var new: TCPState
    public init(_ old: TCPState, _ new: TCPState) {
        self.old = old
        self.new = new
    }
    public static func < (a: StatePair, b: StatePair) -> Bool { (a.old, a.new) < (b.old, b.new) }
}

/// Events the run did not deliver, by cause. Loss is never silent.
public struct LostEvents: Hashable, Sendable {
    /// Ring buffer reservations that failed in the kernel: user space fell behind.
    public var ringBufferFull: UInt64 = 0
    /// Tracepoint hits the kernel skipped because the program was already running on that CPU
    /// (bpf_prog_info.recursion_misses), less those the fallback program handled instead.
    public var recursionMisses: UInt64 = 0
    /// Records that arrived but could not be decoded (short or malformed).
    public var undecodable: UInt64 = 0
    public init() {}
    public var total: UInt64 { ringBufferFull + recursionMisses + undecodable }
}

/// The kernel program's own counters (per-CPU array, summed).
public struct KernelCounters: Hashable, Sendable {
    public var seen: UInt64 = 0
    public var filtered: UInt64 = 0
    public var ringBufferFull: UInt64 = 0
    public var noStorage: UInt64 = 0
    /// Hits the main program missed (already running on that CPU) that the fallback handled.
    public var nested: UInt64 = 0
    /// Records received from the ring buffer: one per transition, or in aggregated mode one per
    /// batch of a socket's transitions.
    public var ringRecords: UInt64 = 0
    public init() {}
}

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

/// Connection records by role and by who closed first, and the retransmissions they carried
/// (the kernel's `total_retrans` read at CLOSE). Fixed size: 4 roles × 4 closers.
public struct ClosedConnections: Hashable, Sendable {
    private var counts = [UInt64](repeating: 0, count: 16)
    /// Retransmitted segments over every closed connection whose counters were read.
    public private(set) var retransmissions: UInt64 = 0
    public init() {}

    public mutating func record(_ c: ConnectionRecord) {
        counts[Self.slot(c.role, c.closedBy)] &+= 1
        if let r = c.retransmissions { retransmissions &+= UInt64(r) }
    }

    public subscript(role: ConnectionRecord.Role, closedBy: ConnectionRecord.Closer) -> UInt64 {
        counts[Self.slot(role, closedBy)]
    }

    static func slot(_ role: ConnectionRecord.Role, _ closer: ConnectionRecord.Closer) -> Int {
        ConnectionRecord.Role.allCases.firstIndex(of: role)! * 4 + ConnectionRecord.Closer.allCases.firstIndex(of: closer)!
    }
}

/// TIME_WAIT entries by remote endpoint (address, port), bounded: past `capacity` distinct
/// endpoints, new ones are counted under `other`.
public struct TimeWaitTally: Sendable {
    public struct Endpoint: Hashable, Sendable {
        public var remote: IPAddress
        public var remotePort: UInt16
        public init(remote: IPAddress, remotePort: UInt16) {
            self.remote = remote
            self.remotePort = remotePort
        }
    }

    public let capacity: Int
    public private(set) var total: UInt64 = 0
    public private(set) var other: UInt64 = 0
    public private(set) var byEndpoint: [Endpoint: UInt64] = [:]

    public init(capacity: Int = 10_000) { self.capacity = capacity }

    public mutating func record(_ c: ConnectionRecord) {
        guard c.timeWait else { return }
        total += 1
        let key = Endpoint(remote: c.identity.remote, remotePort: c.identity.remotePort)
        if byEndpoint[key] != nil || byEndpoint.count < capacity {
            byEndpoint[key, default: 0] += 1
        } else {
            other += 1
        }
    }

    /// The `n` endpoints with the most TIME_WAIT entries.
    public func top(_ n: Int) -> [(endpoint: Endpoint, count: UInt64)] {
        byEndpoint.map { (endpoint: $0.key, count: $0.value) }
            .sorted { ($1.count, $0.endpoint.remotePort) < ($0.count, $1.endpoint.remotePort) }
            .prefix(n).map { $0 }
    }
}
