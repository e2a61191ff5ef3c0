/// A census line: TCP sockets per state in one network namespace (or the total over them), the
/// peers holding the most TIME_WAIT and CLOSE_WAIT sockets, and the port use per destination.
/// Declared once: the JSON line, reading it back (`report --html` draws its counts) and the
/// README table. The text for people is a layout of its own (`TextLines.appendCensus`).
public struct CensusRecord: Hashable, Sendable, Record {
    public struct PeerCount: Hashable, Sendable, FieldGroup {
        public var remote: IPAddress = .v4(0)
        public var remotePort: UInt16?
        public var localPort: UInt16?
        public var count: UInt64 = 0
        public init() {}
        public init(_ p: Census.PeerCount) {
            (remote, remotePort, localPort, count) = (p.peer.remote, p.peer.remotePort, p.peer.localPort, UInt64(max(0, p.count)))
        }
        public static func fields<V: FieldVisitor>(_ r: inout PeerCount, _ v: inout V) {
            v.field("raddr", &r.remote, Address.self, text: .plain, "remote address")
            v.field("rport", &r.remotePort, Nullable<Integer<UInt16>>.self, text: .plain, "outbound: the remote service; else null")
            v.field("lport", &r.localPort, Nullable<Integer<UInt16>>.self, text: .plain, "inbound: our service port; else null")
            v.field("count", &r.count, Integer<UInt64>.self, text: .plain, "sockets")
        }
    }

    public struct Range: Hashable, Sendable, FieldGroup {
        public var low: UInt16 = 0
        public var high: UInt16 = 0
        public var size: UInt64 = 0
        public var usable: UInt64?
        public var twReuse: UInt64??
        public init() {}
        public static func fields<V: FieldVisitor>(_ r: inout Range, _ v: inout V) {
            v.field("low", &r.low, Integer<UInt16>.self, text: .plain, "first port")
            v.field("high", &r.high, Integer<UInt16>.self, text: .plain, "last port")
            v.field("size", &r.size, Integer<UInt64>.self, text: .plain, "ports in the range")
            v.field(
                "usable", &r.usable, Omitted<Integer<UInt64>>.self, text: .plain,
                "less `ip_local_reserved_ports`; absent when the namespace's settings could not be read")
            v.field(
                "tw_reuse", &r.twReuse, Omitted<Nullable<Integer<UInt64>>>.self, text: .plain,
                "`tcp_tw_reuse`, null if unreadable; absent with `usable`")
        }
    }

    public struct Exhaustion: Hashable, Sendable, FieldGroup {
        public var remote: IPAddress = .v4(0)
        public var remotePort: UInt16 = 0
        public var timeWait: UInt64 = 0
        public var open: UInt64 = 0
        public var localAddresses: UInt64 = 0
        public var maxPerLocalAddress: UInt64 = 0
        /// Tenths of a percent.
        public var usePermille: UInt64 = 0
        public init() {}
        public init(_ e: PortExhaustion) {
            (remote, remotePort) = (e.remote, e.remotePort)
            (timeWait, open) = (UInt64(e.timeWait), UInt64(e.open))
            (localAddresses, maxPerLocalAddress) = (UInt64(e.localAddresses), UInt64(e.maxPerLocalAddress))
            usePermille = UInt64((e.usePercent * 10).rounded())
        }
        public static func fields<V: FieldVisitor>(_ r: inout Exhaustion, _ v: inout V) {
            v.field("raddr", &r.remote, Address.self, text: .plain, "remote address")
            v.field("rport", &r.remotePort, Integer<UInt16>.self, text: .plain, "remote port")
            v.field(
                "time_wait", &r.timeWait, Integer<UInt64>.self, text: .plain,
                "outbound timewait sockets to it: TIME_WAIT, and FIN_WAIT2 ones the application closed")
            v.field(
                "open", &r.open, Integer<UInt64>.self, text: .plain, required: false,
                "outbound sockets to it in the other states (connecting, established, not yet closed): each holds its local port too")
            v.field("local_addrs", &r.localAddresses, Integer<UInt64>.self, text: .plain, "source addresses among them all")
            v.field("max_per_laddr", &r.maxPerLocalAddress, Integer<UInt64>.self, text: .plain, "most ports held (any state) by one source address")
            v.field("use_pct", &r.usePermille, Tenths.self, text: .plain, "`max_per_laddr` / `port_range.usable` (or `size` when unknown), percent, one decimal")
        }
    }

    public var time = WallTime(nanoseconds: 0)
    public var netns: UInt32?
    public var netnsName: String?
    public var family: AddressFamily?
    public var ports: [UInt16] = []
    public var total: UInt64 = 0
    public var states: [Keyed<TCPState, UInt64>] = []
    public var topTimeWait: [PeerCount] = []
    public var topCloseWait: [PeerCount] = []
    public var portRange = Range()
    public var exhaustion: [Exhaustion] = []

    public init() {}

    public init(_ c: Census) {
        time = c.time
        netns = c.netns
        netnsName = c.netnsName
        family = c.filter.family
        ports = c.filter.ports
        total = UInt64(max(0, c.total))
        states = c.listedStates.map { Keyed($0, UInt64(max(0, c.count($0)))) }
        topTimeWait = c.topTimeWait.map(PeerCount.init)
        topCloseWait = c.topCloseWait.map(PeerCount.init)
        (portRange.low, portRange.high, portRange.size) = (c.portRange.low, c.portRange.high, UInt64(c.portRange.size))
        if let p = c.ports {
            portRange.usable = UInt64(p.usable)
            portRange.twReuse = .some(p.twReuse.map { UInt64(max(0, $0)) })
        }
        exhaustion = c.exhaustion.map(Exhaustion.init)
    }

    /// The count in `state` (0 when not listed).
    public func count(_ state: TCPState) -> UInt64 { states.first { $0.key == state }?.value ?? 0 }

    public static var type: StaticString { "census" }
    public static var jsonPrefix: StaticString { "{\"type\":\"census\",\"v\":" }
    public static var textTag: StaticString { "CENSUS" }

    public static func fields<V: FieldVisitor>(_ r: inout CensusRecord, _ v: inout V) {
        v.field(
            "netns", &r.netns, Nullable<Integer<UInt32>>.self, text: .labeled(" netns "),
            "the network namespace counted (its inode); null on the last line, the total over every namespace counted (its top lists and port use are empty: they are per namespace)")
        v.field(
            "netns_name", &r.netnsName, Nullable<Text>.self, text: .hidden, required: false,
            "its `ip netns` name, `\"host\"` for the tracer's own, else null")
        v.field("family", &r.family, Nullable<Family>.self, text: .hidden, required: false, "the `-4`/`-6` filter, null for both")
        v.field("ports", &r.ports, List<Integer<UInt16>>.self, text: .hidden, required: false, "the `--port` filter (either side), empty for all")
        v.field("total", &r.total, Integer<UInt64>.self, text: .hidden, required: false, "sockets counted")
        v.field(
            "states", &r.states, KeyedObject<StateKey, Integer<UInt64>>.self, text: .plain,
            "count per state; the 11 classic states always, any other state seen added (`UNKNOWN_<n>`)")
        v.field(
            "top_time_wait", &r.topTimeWait, List<Object<PeerCount>>.self, text: .hidden, required: false,
            "peers with the most TIME_WAIT sockets, most first, at most `--top` (10)")
        v.field(
            "top_close_wait", &r.topCloseWait, List<Object<PeerCount>>.self, text: .hidden, required: false,
            "the same for CLOSE_WAIT")
        v.field("port_range", &r.portRange, Object<Range>.self, text: .hidden, required: false, "`ip_local_port_range`")
        v.field(
            "port_exhaustion", &r.exhaustion, List<Object<Exhaustion>>.self, text: .hidden, required: false,
            "per destination, highest use first: outbound TIME_WAIT and how much of the port range one source address holds")
    }
}
