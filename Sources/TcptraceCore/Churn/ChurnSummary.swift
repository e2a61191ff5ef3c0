/// The churn part of the `summary` record: failed connects by reason and the TIME_WAIT makers'
/// whole-run totals.
public struct ChurnSummary: Hashable, Sendable, FieldGroup {
    /// One (owner, destination) pair's totals.
    public struct Maker: Hashable, Sendable, FieldGroup {
        public var owner = Owner()
        public var other = false
        public var netns: UInt32?
        public var cgroup: UInt64?
        public var local: IPAddress = .v4(0)
        public var remote: IPAddress = .v4(0)
        public var remotePort: UInt16 = 0
        public var connections: UInt64 = 0
        public var timeWait: UInt64 = 0
        public var closedByUs: UInt64 = 0
        public var failed: UInt64 = 0
        public var lifetime: UInt64?
        public init() {}

        public static func fields<V: FieldVisitor>(_ r: inout Maker, _ v: inout V) {
            v.field("owner", &r.owner, Object<Owner>.self, text: .plain, "the process (pid 0 `?`: unknown)")
            v.field("other", &r.other, Boolean.self, text: .flag(" (all other pairs)"), "the pairs past the top N, summed")
            v.field("netns", &r.netns, Nullable<Integer<UInt32>>.self, text: .hidden, "network namespace inode")
            v.field("cgroup", &r.cgroup, Nullable<Integer<UInt64>>.self, text: .hidden, "cgroup v2 id")
            v.field("laddr", &r.local, Address.self, text: .plain, "local address")
            v.field("raddr", &r.remote, Address.self, text: .labeled(" -> "), "remote address")
            v.field("rport", &r.remotePort, Integer<UInt16>.self, text: .labeled(":"), "remote port")
            v.field("connections", &r.connections, Integer<UInt64>.self, text: .labeled(" connections "), "connections charged")
            v.field("time_wait", &r.timeWait, Integer<UInt64>.self, text: .labeled(" timewait "), "timewait sockets made")
            v.field("closed_by_us", &r.closedByUs, Integer<UInt64>.self, text: .labeled(" closed by us "), "closed by this side first")
            v.field("failed", &r.failed, Integer<UInt64>.self, text: .labeled(" failed connects "), "failed connects")
            v.field(
                "lifetime_p50_ms", &r.lifetime, Nullable<Milliseconds>.self, text: .labeled(" life p50 ", suffix: " ms"),
                "median lifetime (half-octave bins)")
        }
    }

    public var failedTotal: UInt64 = 0
    public var failed: [ConnectError: UInt64] = [:]
    public var makers: [Maker] = []
    public var warnings: UInt64 = 0
    public init() {}

    public init(_ t: ChurnTracker) {
        failed = t.failedConnects
        failedTotal = t.failedConnectsTotal
        warnings = t.warnings
        makers = t.makers.totals.map { k, isOther, n in
            var m = Maker()
            m.owner = k.owner
            m.other = isOther
            if !isOther {
                m.netns = k.netns
                m.cgroup = k.cgroup
                m.local = k.local
                m.remote = k.remote
                m.remotePort = k.remotePort
            }
            m.connections = n.connections
            m.timeWait = n.timeWait
            m.closedByUs = n.closedByUs
            m.failed = n.failed
            m.lifetime = LifetimeBins.median(n.lifetimeBins)
            return m
        }
    }

    public static func fields<V: FieldVisitor>(_ r: inout ChurnSummary, _ v: inout V) {
        v.field("failed_connects", &r.failedTotal, Integer<UInt64>.self, text: .plain, "connect() calls that failed (`connection.connect_error`)")
        v.field("failed_connects_by_reason", &r.failed, ReasonCounts.self, text: .plain, "the same by errno name")
        v.field(
            "time_wait_makers", &r.makers, List<Object<Maker>>.self, text: .plain,
            "per (owner, destination) pair, most timewait sockets first, at most `--churn-top`, then `other`")
        v.field("port_pressure_warnings", &r.warnings, Integer<UInt64>.self, text: .plain, "`port_pressure` records written")
    }
}

/// `{"EADDRNOTAVAIL":40,…}`: a count per failed-connect reason.
public enum ReasonCounts: FieldFormat {
    public typealias Value = [ConnectError: UInt64]
    public static var jsonType: String { "object" }
    public static var maxBytes: Int { 2 }
    public static func extraBytes(_ value: Value) -> Int { value.count * 40 }
    public static func json(_ value: Value, _ c: inout ByteCursor) {
        c.byte(UInt8(ascii: "{"))
        for (i, (k, n)) in value.sorted(by: { $0.key < $1.key }).enumerated() {
            if i > 0 { c.byte(UInt8(ascii: ",")) }
            c.byte(UInt8(ascii: "\""))
            c.text(k.rawValue)
            c.ascii("\":")
            c.decimal(n)
        }
        c.byte(UInt8(ascii: "}"))
    }
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> Value? {
        guard p.peek == UInt8(ascii: "{") else { return nil }
        var out: Value = [:]
        for m in try p.members(depth: 1) {
            var q = p
            q.i = m.value.lowerBound
            guard let k = ConnectError(rawValue: p.keyText(m)), let n = q.unsigned(max: UInt64.max) else { return nil }
            out[k] = n
        }
        return out
    }
}
