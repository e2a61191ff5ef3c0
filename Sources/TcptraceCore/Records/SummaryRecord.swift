/// The last line of a run (and of `report`): what it saw, what it lost, how long each state
/// lasted. Declared once: the JSON line, its reading back (`report --html` takes the loss from
/// it) and the README table come from `fields`. The text summary for people is a layout of
/// its own (`TextLines.appendSummary`), drawn from the same `RunSummary`. Only `lost` is
/// required when reading back: summaries of earlier builds of this schema version lack fields
/// (`kernel.nested`, `open_connections`, …).
public struct SummaryRecord: Sendable, Record {
    /// Count, p50, p90, p99 and max of a duration histogram, in nanoseconds.
    public struct Percentiles: Hashable, Sendable, FieldGroup {
        public var count: UInt64 = 0
        public var p50: UInt64?
        public var p90: UInt64?
        public var p99: UInt64?
        public var max: UInt64?
        public init() {}
        /// nil for an empty histogram.
        public init?(_ h: DurationHistogram) {
            guard h.count > 0 else { return nil }
            (count, p50, p90, p99, max) = (h.count, h.p50, h.p90, h.p99, h.max)
        }

        public static func fields<V: FieldVisitor>(_ r: inout Percentiles, _ v: inout V) {
            v.field("count", &r.count, Integer<UInt64>.self, text: .plain, required: false, "durations measured")
            v.field("p50", &r.p50, Nullable<Milliseconds>.self, text: .plain, required: false, "median (within 0.8 %)")
            v.field("p90", &r.p90, Nullable<Milliseconds>.self, text: .plain, required: false, "90th percentile (within 0.8 %)")
            v.field("p99", &r.p99, Nullable<Milliseconds>.self, text: .plain, required: false, "99th percentile (within 0.8 %)")
            v.field("max", &r.max, Nullable<Milliseconds>.self, text: .plain, required: false, "longest, exact")
        }
    }

    /// A process and how many lingerers it held.
    public struct HolderCount: Hashable, Sendable, FieldGroup {
        public var holder = Owner()
        public var count: UInt64 = 0
        public init() {}
        public init(_ holder: Owner, _ count: UInt64) {
            self.holder = holder
            self.count = count
        }
        public static func fields<V: FieldVisitor>(_ r: inout HolderCount, _ v: inout V) {
            v.group(&r.holder)
            v.field("count", &r.count, Integer<UInt64>.self, text: .plain, required: false, "lingerers it held")
        }
    }

    public struct Lingerers: Hashable, Sendable, FieldGroup {
        public var total: UInt64 = 0
        public var byHolder: [HolderCount] = []
        public init() {}
        public static func fields<V: FieldVisitor>(_ r: inout Lingerers, _ v: inout V) {
            v.field("total", &r.total, Integer<UInt64>.self, text: .plain, required: false, "lingerers reported")
            v.field(
                "by_holder", &r.byHolder, List<Object<HolderCount>>.self, text: .plain, required: false,
                "per holding process, most first (pid 0, comm `\"?\"` when unknown)")
        }
    }

    /// A remote endpoint and the connections closed into timewait sockets towards it.
    public struct TimeWaitPeer: Hashable, Sendable, FieldGroup {
        public var remote: IPAddress = .v4(0)
        public var remotePort: UInt16 = 0
        public var count: UInt64 = 0
        /// Thousandths per second.
        public var perSecond: UInt64 = 0
        public init() {}
        public static func fields<V: FieldVisitor>(_ r: inout TimeWaitPeer, _ v: inout V) {
            v.field("raddr", &r.remote, Address.self, text: .plain, required: false, "remote address")
            v.field("rport", &r.remotePort, Integer<UInt16>.self, text: .plain, required: false, "remote port")
            v.field("count", &r.count, Integer<UInt64>.self, text: .plain, required: false, "connections closed into timewait sockets")
            v.field("per_s", &r.perSecond, Rate.self, text: .plain, required: false, "the same per second of the run")
        }
    }

    public struct TimeWait: Hashable, Sendable, FieldGroup {
        public var total: UInt64 = 0
        public var perSecond: UInt64 = 0
        public var top: [TimeWaitPeer] = []
        public var overflow: UInt64?
        public init() {}
        public static func fields<V: FieldVisitor>(_ r: inout TimeWait, _ v: inout V) {
            v.field("total", &r.total, Integer<UInt64>.self, text: .plain, required: false, "connections closed into timewait sockets")
            v.field("per_s", &r.perSecond, Rate.self, text: .plain, required: false, "the same per second of the run")
            v.field("top", &r.top, List<Object<TimeWaitPeer>>.self, text: .plain, required: false, "by remote endpoint, most first (top 10)")
            v.field(
                "overflow", &r.overflow, Nullable<Integer<UInt64>>.self, text: .plain, required: false,
                "growth of `TcpExtTCPTimeWaitOverflow` during the run (TIME_WAIT sockets the kernel did not create because `tcp_max_tw_buckets` was reached), null if unreadable")
        }
    }

    public var time = WallTime(nanoseconds: 0)
    public var durationNanoseconds: UInt64 = 0
    public var events: UInt64 = 0
    public var transitions: [Keyed<StatePair, UInt64>] = []
    public var lost = LostEvents()
    public var kernel = KernelCounters()
    public var connections: UInt64 = 0
    public var lingerers = Lingerers()
    public var tableEvictions: UInt64 = 0
    public var openConnections: UInt64 = 0
    public var vanishedConnections: UInt64 = 0
    public var durations: [Keyed<TCPState, Percentiles?>] = []
    public var connectLatency: Percentiles?
    public var timeWait = TimeWait()
    /// Failed connects and the TIME_WAIT makers (issue 21), flattened into the record.
    public var churn = ChurnSummary()

    public init() {}

    /// The record of a run's summary.
    public init(_ s: RunSummary) {
        time = s.end
        durationNanoseconds = UInt64(Swift.max(0, s.end.nanoseconds - s.start.nanoseconds))
        events = s.events
        transitions = s.transitionCounts.sorted { $0.key < $1.key }.map { Keyed($0.key, $0.value) }
        lost = s.lost
        kernel = s.kernel
        connections = s.connections
        lingerers.total = s.lingerersByHolder.values.reduce(0, +)
        lingerers.byHolder = s.lingerersRanked.map { HolderCount($0.holder, $0.count) }
        tableEvictions = s.tableEvictions
        openConnections = s.openConnections
        vanishedConnections = s.vanishedConnections
        durations = s.measuredStates.map { Keyed($0.state, Percentiles($0.histogram)) }
        connectLatency = Percentiles(s.connectLatency)
        let seconds = Double(Swift.max(1, s.end.nanoseconds - s.start.nanoseconds)) / 1e9
        timeWait.total = s.timeWait.total
        timeWait.perSecond = Rate.of(s.timeWait.total, over: seconds)
        timeWait.top = s.timeWait.top(10).map { e, n in
            var p = TimeWaitPeer()
            (p.remote, p.remotePort, p.count, p.perSecond) = (e.remote, e.remotePort, n, Rate.of(n, over: seconds))
            return p
        }
        timeWait.overflow = s.timeWaitOverflow
        churn = ChurnSummary(s.churn)
    }

    public static var type: StaticString { "summary" }
    public static var jsonPrefix: StaticString { "{\"type\":\"summary\",\"v\":" }
    public static var textTag: StaticString { "SUMMARY" }

    public static func fields<V: FieldVisitor>(_ r: inout SummaryRecord, _ v: inout V) {
        v.field("duration_s", &r.durationNanoseconds, Seconds.self, text: .plain, required: false, "length of the run in seconds")
        v.field("events", &r.events, Integer<UInt64>.self, text: .plain, required: false, "transitions delivered")
        v.field("transitions", &r.transitions, KeyedObject<StatePairKey, Integer<UInt64>>.self, text: .plain, required: false, "count per transition")
        v.field("lost", &r.lost, Object<LostEvents>.self, text: .plain, required: false, "events not delivered, by cause")
        v.field("kernel", &r.kernel, Object<KernelCounters>.self, text: .plain, required: false, "the program's own counters")
        v.field("connections", &r.connections, Integer<UInt64>.self, text: .plain, required: false, "connection records (connections that reached CLOSE)")
        v.field("lingerers", &r.lingerers, Object<Lingerers>.self, text: .plain, required: false, "CLOSE_WAIT lingerers")
        v.field(
            "table_evictions", &r.tableEvictions, Integer<UInt64>.self, text: .plain, required: false,
            "connection-table entries dropped to stay within `--max-connections`")
        v.field(
            "open_connections", &r.openConnections, Integer<UInt64>.self, text: .plain, required: false,
            "connections still in the table when the run ended (open, or their CLOSE was lost)")
        v.field(
            "vanished_connections", &r.vanishedConnections, Integer<UInt64>.self, text: .plain, required: false,
            "connections that disappeared from the kernel without their CLOSE being seen (events lost), found by a census")
        v.field(
            "durations_ms", &r.durations, KeyedObject<StateKey, Nullable<Object<Percentiles>>>.self, text: .plain, required: false,
            "per state: the time spent in it (ms; percentiles within 0.8 %, max exact)")
        v.field(
            "connect_latency_ms", &r.connectLatency, Nullable<Object<Percentiles>>.self, text: .plain, required: false,
            "the same for client `SYN_SENT -> ESTABLISHED`, null when none")
        v.field("time_wait", &r.timeWait, Object<TimeWait>.self, text: .plain, required: false, "connections closed into timewait sockets")
        v.optionalGroup(&r.churn)
    }
}

extension LostEvents: FieldGroup {
    public static func fields<V: FieldVisitor>(_ r: inout LostEvents, _ v: inout V) {
        v.field("ringbuf_full", &r.ringBufferFull, Integer<UInt64>.self, text: .plain, "ring buffer reservations that failed")
        v.field("recursion_misses", &r.recursionMisses, Integer<UInt64>.self, text: .plain, "tracepoint hits skipped")
        v.field("undecodable", &r.undecodable, Integer<UInt64>.self, text: .plain, "records that could not be decoded")
        v.field(
            "unseen", &r.unseen, Integer<UInt64>.self, text: .plain, required: false,
            "transitions the kernel ran no program for: perf's count of the skipped hits, or one per gap found; plus what skipped sockets held (see \"Lost events\")")
        v.field("total", &r.totalField, Integer<UInt64>.self, text: .plain, required: false, "all of them")
    }

    /// `total` as a field: written from the causes, ignored when read back (it is their sum).
    @usableFromInline var totalField: UInt64 {
        get { total }
        set {}
    }
}

extension KernelCounters: FieldGroup {
    public static func fields<V: FieldVisitor>(_ r: inout KernelCounters, _ v: inout V) {
        v.field("seen", &r.seen, Integer<UInt64>.self, text: .plain, required: false, "TCP transitions the program ran for")
        v.field("filtered", &r.filtered, Integer<UInt64>.self, text: .plain, required: false, "excluded by the filters")
        v.field(
            "no_storage", &r.noStorage, Integer<UInt64>.self, text: .plain, required: false,
            "sockets whose per-socket storage could not be allocated (their durations are unknown)")
        v.field(
            "ring_records", &r.ringRecords, Integer<UInt64>.self, text: .plain, required: false,
            "records user space received from the ring buffer (one per transition; with `--events` without `transitions`, one per batch)")
        v.field(
            "nested", &r.nested, Integer<UInt64>.self, text: .plain, required: false,
            "hits the main program was skipped for (softirq interrupting it on the same CPU) that the fallback program handled instead (delivered, not lost)")
        v.field(
            "skips_counted", &r.skipsCounted, Boolean.self, text: .plain, required: false,
            "perf counted the tracepoint's hits, so `lost.unseen` has every hit no program ran for, not one per gap found (`--count-skips`)")
    }
}
