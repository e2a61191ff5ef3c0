/// A non-negative number with three decimals (rates per second, percentages).
public enum Decimal3: FieldFormat {
    public typealias Value = Double
    public static var jsonType: String { "number" }
    @inlinable public static var maxBytes: Int { 24 }
    @inlinable
    public static func json(_ v: Double, _ c: inout ByteCursor) {
        let m = UInt64((max(0, min(v, 1e15)) * 1000).rounded())
        c.decimal(m / 1000)
        c.byte(UInt8(ascii: "."))
        c.decimal(m % 1000, width: 3)
    }
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> Double? {
        p.decimalAsNanoseconds(scaleDigits: 6).map { Double($0) / 1e6 }
    }
}

/// `port_range`: the local ports connect() can use in a network namespace, written once per
/// namespace when the tracer first needs them (port pressure); a replay reads them back.
public struct PortRangeRecord: Hashable, Sendable, Record {
    public var time = WallTime(nanoseconds: 0)
    public var netns: UInt32?
    public var low: UInt16 = 0
    public var high: UInt16 = 0
    public var reserved: Int64 = 0
    public var usable: Int64 = 0
    public var twReuse: Int64?
    public var timestamps: Int64?
    public init() {}
    public init(time: WallTime, netns: UInt32?, ports: NamespacePorts) {
        self.time = time
        self.netns = netns
        low = ports.range.low
        high = ports.range.high
        reserved = Int64(ports.reserved)
        usable = Int64(ports.usable)
        twReuse = ports.twReuse.map(Int64.init)
        timestamps = ports.timestamps.map(Int64.init)
    }

    public var ports: NamespacePorts {
        NamespacePorts(
            range: PortRange(low: low, high: high), reserved: Int(reserved), twReuse: twReuse.map(Int.init),
            timestamps: timestamps.map(Int.init))
    }

    public static var type: StaticString { "port_range" }
    public static var jsonPrefix: StaticString { "{\"type\":\"port_range\",\"v\":" }
    public static var textTag: StaticString { "PORTS" }

    public static func fields<V: FieldVisitor>(_ r: inout PortRangeRecord, _ v: inout V) {
        v.field("netns", &r.netns, Nullable<Integer<UInt32>>.self, text: .labeled(" netns "), "network namespace inode")
        v.field("low", &r.low, Integer<UInt16>.self, text: .labeled(" ip_local_port_range "), "`ip_local_port_range`, first port")
        v.field("high", &r.high, Integer<UInt16>.self, text: .labeled("-"), "last port")
        v.field(
            "reserved", &r.reserved, Signed<Int64>.self, text: .labeled(" reserved "),
            "ports of the range in `ip_local_reserved_ports`")
        v.field(
            "usable", &r.usable, Signed<Int64>.self, text: .labeled(" usable "),
            "local ports connect() can pick per source address and destination")
        v.field(
            "tw_reuse", &r.twReuse, Nullable<Signed<Int64>>.self, text: .labeled(" tcp_tw_reuse="),
            "`tcp_tw_reuse`: 0 off, 1 on, 2 loopback only; `null` when unreadable")
        v.field(
            "timestamps", &r.timestamps, Nullable<Signed<Int64>>.self, text: .hidden,
            "`tcp_timestamps` (reuse needs them); `null` when unreadable")
    }
}

/// `port_pressure`: a destination's local ports crossed 50 % or 80 % use, or the forecast of
/// their exhaustion fell under 60 s — written when it happens, before connect() fails.
public struct PortPressureRecord: Hashable, Sendable, Record {
    public var time = WallTime(nanoseconds: 0)
    public var level: PortPressure.Level = .half
    public var netns: UInt32?
    public var local: IPAddress = .v4(0)
    public var remote: IPAddress = .v4(0)
    public var remotePort: UInt16 = 0
    public var usable: Int64 = 0
    public var held: UInt64 = 0
    public var open: UInt64 = 0
    public var usePercent: Double = 0
    public var connectsPerSecond: Double = 0
    public var exhaustedAtPerSecond: Double = 0
    public var forecastNanoseconds: UInt64?
    public var twReuse: Int64?
    public var reuse = false
    public var maker: Owner?
    public var advice = ""
    public init() {}

    public init(time: WallTime, level: PortPressure.Level, reading r: PortPressure.Reading, maker: Owner?, advice: String) {
        self.time = time
        self.level = level
        netns = r.destination.netns
        local = r.destination.local
        remote = r.destination.remote
        remotePort = r.destination.remotePort
        usable = Int64(r.usable)
        held = r.held
        open = r.open
        usePercent = r.usePercent
        connectsPerSecond = r.connectsPerSecond
        exhaustedAtPerSecond = r.exhaustedAtPerSecond
        forecastNanoseconds = r.forecastSeconds.map { UInt64(($0 * 1e9).rounded()) }
        twReuse = r.twReuse.map(Int64.init)
        reuse = r.reuse
        self.maker = maker
        self.advice = advice
    }

    public static var type: StaticString { "port_pressure" }
    public static var jsonPrefix: StaticString { "{\"type\":\"port_pressure\",\"v\":" }
    public static var textTag: StaticString { "PRESSURE" }

    public static func fields<V: FieldVisitor>(_ r: inout PortPressureRecord, _ v: inout V) {
        v.field(
            "level", &r.level, Keyword<PortPressure.Level>.self, text: .plain,
            "what was crossed: `use_50`, `use_80` (ports held, % of usable), `forecast_under_60s` (time left at the current rate)")
        v.field("netns", &r.netns, Nullable<Integer<UInt32>>.self, text: .hidden, "network namespace inode")
        v.field("laddr", &r.local, Address.self, text: .plain, "source address")
        v.field("raddr", &r.remote, Address.self, text: .labeled(" -> "), "destination address")
        v.field("rport", &r.remotePort, Integer<UInt16>.self, text: .labeled(":"), "destination port")
        v.field(
            "in_use", &r.held, Integer<UInt64>.self, text: .labeled(" ports "),
            "local ports held towards it: timewait sockets its clients made in the last 60 s (the last 1 s when `reuse`), plus `open`")
        v.field("usable", &r.usable, Signed<Int64>.self, text: .labeled("/"), "usable local ports (`port_range`)")
        v.field("use_pct", &r.usePercent, Decimal3.self, text: .labeled(" (", suffix: " %)"), "in_use / usable, %")
        v.field(
            "open", &r.open, Integer<UInt64>.self, text: .labeled(", ", suffix: " open"), required: false,
            "of `in_use`, open sockets to it (connecting, established, closing) found by the last `census` record of its namespace (0 without census records)")
        v.field(
            "connects_per_s", &r.connectsPerSecond, Decimal3.self, text: .labeled(" at ", suffix: "/s"),
            "new connections that got a port, per second over the last 10 s")
        v.field(
            "exhausted_at_per_s", &r.exhaustedAtPerSecond, Decimal3.self, text: .labeled(" exhausted at >= ", suffix: "/s"),
            "the steady state: at this many new connections per second the range is used up ((usable - open) / 60 s, or / 1 s with reuse)")
        v.field(
            "forecast_s", &r.forecastNanoseconds, Nullable<Seconds>.self, text: .labeled(" ports gone in ", suffix: " s"),
            "seconds until no port is left at the current rate; `null` when the steady state fits the range")
        v.field(
            "tw_reuse", &r.twReuse, Nullable<Signed<Int64>>.self, text: .labeled(" tcp_tw_reuse="),
            "the namespace's `tcp_tw_reuse`")
        v.field(
            "reuse", &r.reuse, Boolean.self, text: .flag(" (applies)"),
            "tcp_tw_reuse applies to this destination (1, or 2 with a loopback address, and timestamps on): a TIME_WAIT port is taken again after 1 s")
        v.field("maker", &r.maker, Nullable<Object<Owner>>.self, text: .labeled(" maker "), "the process making the most of those timewait sockets")
        v.field("advice", &r.advice, Text.self, text: .labeled(": "), "what would help (see `doctor`)")
    }
}

/// `churn`: one (owner, destination) pair of the TIME_WAIT makers, written every 10 s for the
/// pairs active in the last 60 s (at most `--churn-top`, the rest in one `other` row).
public struct ChurnRecord: Hashable, Sendable, Record {
    public var time = WallTime(nanoseconds: 0)
    public var owner = Owner()
    public var other = false
    public var netns: UInt32?
    public var cgroup: UInt64?
    public var local: IPAddress = .v4(0)
    public var remote: IPAddress = .v4(0)
    public var remotePort: UInt16 = 0
    public var connects10: Double = 0
    public var connects60: Double = 0
    public var timeWait10: Double = 0
    public var timeWait60: Double = 0
    public var timeWaitAlive: UInt64 = 0
    public var closedByUs60: Double?
    public var lifetime10: UInt64?
    public var lifetime60: UInt64?
    public var failed60: UInt64 = 0
    public init() {}

    public init(time: WallTime, view: TimeWaitMakers.View) {
        self.time = time
        owner = view.key.owner
        other = view.isOther
        netns = view.key.netns
        cgroup = view.key.cgroup
        local = view.key.local
        remote = view.key.remote
        remotePort = view.key.remotePort
        connects10 = view.short.connectionsPerSecond
        connects60 = view.long.connectionsPerSecond
        timeWait10 = view.short.timeWaitPerSecond
        timeWait60 = view.long.timeWaitPerSecond
        timeWaitAlive = view.timeWaitAlive
        closedByUs60 = view.long.closedByUsPercent
        lifetime10 = view.short.medianLifetimeNanoseconds
        lifetime60 = view.long.medianLifetimeNanoseconds
        failed60 = view.long.failed
    }

    public static var type: StaticString { "churn" }
    public static var jsonPrefix: StaticString { "{\"type\":\"churn\",\"v\":" }
    public static var textTag: StaticString { "CHURN" }

    public static func fields<V: FieldVisitor>(_ r: inout ChurnRecord, _ v: inout V) {
        v.field("owner", &r.owner, Object<Owner>.self, text: .plain, "the process that connected (or listened); pid 0 `?` when unknown")
        v.field("other", &r.other, Boolean.self, text: .flag(" (all other pairs)"), "this row sums the pairs past the top N")
        v.field("netns", &r.netns, Nullable<Integer<UInt32>>.self, text: .hidden, "network namespace inode")
        v.field("cgroup", &r.cgroup, Nullable<Integer<UInt64>>.self, text: .hidden, "cgroup v2 id of the sockets")
        v.field("laddr", &r.local, Address.self, text: .plain, "local address")
        v.field("raddr", &r.remote, Address.self, text: .labeled(" -> "), "remote address")
        v.field("rport", &r.remotePort, Integer<UInt16>.self, text: .labeled(":"), "remote port")
        v.field(
            "connects_per_s_10s", &r.connects10, Decimal3.self, text: .labeled(" conn/s "),
            "connections (client ones, and any that left TIME_WAIT) ended per second, last 10 s")
        v.field("connects_per_s_60s", &r.connects60, Decimal3.self, text: .labeled("|"), "the same over 60 s")
        v.field(
            "time_wait_per_s_10s", &r.timeWait10, Decimal3.self, text: .labeled(" tw/s "), "timewait sockets made per second, last 10 s")
        v.field("time_wait_per_s_60s", &r.timeWait60, Decimal3.self, text: .labeled("|"), "the same over 60 s")
        v.field(
            "time_wait_alive", &r.timeWaitAlive, Integer<UInt64>.self, text: .labeled(" alive "),
            "timewait sockets made in the last 60 s (TCP_TIMEWAIT_LEN): an estimate of those alive now")
        v.field(
            "closed_by_us_pct_60s", &r.closedByUs60, Nullable<Decimal3>.self, text: .labeled(" closed by us ", suffix: " %"),
            "share of those connections this side closed first, last 60 s")
        v.field(
            "lifetime_p50_ms_10s", &r.lifetime10, Nullable<Milliseconds>.self, text: .labeled(" life p50 ", suffix: " ms"),
            "median lifetime, last 10 s (within a factor of 1.2: half-octave bins)")
        v.field("lifetime_p50_ms_60s", &r.lifetime60, Nullable<Milliseconds>.self, text: .hidden, "the same over 60 s")
        v.field(
            "failed_60s", &r.failed60, Integer<UInt64>.self, text: .labeled(" failed "),
            "failed connects (any reason), last 60 s")
    }
}
