/// `net.ipv4.ip_local_port_range`: the ephemeral ports a kernel picks for connect().
public struct PortRange: Hashable, Sendable {
    public var low: UInt16
    public var high: UInt16
    public init(low: UInt16, high: UInt16) {
        self.low = low
        self.high = high
    }
    /// The kernel's default (32768 60999).
    public static let linuxDefault = PortRange(low: 32768, high: 60999)
    public var size: Int { high >= low ? Int(high) - Int(low) + 1 : 0 }
    public func contains(_ port: UInt16) -> Bool { port >= low && port <= high }
}

/// Which sockets a census counts: the same rules as the tracer's `-4`/`-6`/`--port`.
public struct CensusFilter: Hashable, Sendable {
    public var family: AddressFamily?
    /// Either side; empty: all.
    public var ports: [UInt16] = []
    public init(family: AddressFamily? = nil, ports: [UInt16] = []) {
        self.family = family
        self.ports = ports
    }
    public func matches(_ s: SocketSnapshot) -> Bool {
        if let family, s.family != family { return false }
        if !ports.isEmpty && !ports.contains(s.localPort) && !ports.contains(s.remotePort) { return false }
        return true
    }
}

/// Who sits on the other side of a group of sockets. A local port that some socket listens on,
/// or one outside the ephemeral range, means the peer connected to our service `localPort` (its
/// own ephemeral port is left out so its sockets group). Otherwise we connected out, and the
/// peer's service is `remotePort`.
public struct Peer: Hashable, Sendable {
    public var remote: IPAddress
    /// Outbound: the remote service port; inbound: nil.
    public var remotePort: UInt16?
    /// Inbound: our service port; outbound: nil.
    public var localPort: UInt16?
    public init(remote: IPAddress, remotePort: UInt16?, localPort: UInt16?) {
        self.remote = remote
        self.remotePort = remotePort
        self.localPort = localPort
    }
}

/// Outbound TIME_WAIT towards one destination (remote address, remote port): local port in the
/// ephemeral range and not a listening port. Each such socket
/// holds one local port for 60 s (TCP_TIMEWAIT_LEN); a connect() from the same source address
/// to the same destination needs a port not held: at `portRange.size` per source address,
/// connect() fails with EADDRNOTAVAIL (unless tcp_tw_reuse lets it take a TIME_WAIT port).
public struct PortExhaustion: Hashable, Sendable {
    public var remote: IPAddress
    public var remotePort: UInt16
    /// TIME_WAIT sockets to this destination whose local port is in the ephemeral range.
    public var timeWait: Int
    /// Distinct local (source) addresses among them.
    public var localAddresses: Int
    /// The most held by one source address: what runs out first.
    public var maxPerLocalAddress: Int
    public var portRange: PortRange
    /// maxPerLocalAddress / portRange.size, in percent.
    public var usePercent: Double {
        portRange.size == 0 ? 100 : Double(maxPerLocalAddress) * 100 / Double(portRange.size)
    }
}

struct Destination: Hashable {
    var remote: IPAddress
    var port: UInt16
}

/// Counts per state, the peers behind TIME_WAIT and CLOSE_WAIT, and the destinations closest
/// to running out of local ports. Pure: fed snapshots from sock_diag or from a test.
public struct Census: Hashable, Sendable {
    public struct PeerCount: Hashable, Sendable {
        public var peer: Peer
        public var count: Int
        public init(peer: Peer, count: Int) {
            self.peer = peer
            self.count = count
        }
    }

    public static let defaultTop = 10
    public var time: WallTime
    public var filter: CensusFilter
    public var portRange: PortRange
    /// Every state seen, with its count (states absent from the map: 0).
    public var states: [TCPState: Int]
    public var total: Int
    /// Most sockets first, ties by address text; at most `top` each.
    public var topTimeWait: [PeerCount]
    public var topCloseWait: [PeerCount]
    /// Highest use first; at most `top`.
    public var exhaustion: [PortExhaustion]

    public init(
        time: WallTime, sockets: some Collection<SocketSnapshot>, filter: CensusFilter = CensusFilter(),
        portRange: PortRange = .linuxDefault, top: Int = Census.defaultTop
    ) {
        self.time = time
        self.filter = filter
        self.portRange = portRange
        var states: [TCPState: Int] = [:]
        var total = 0
        var tw: [Peer: Int] = [:]
        var cw: [Peer: Int] = [:]
        var perSource: [Destination: [IPAddress: Int]] = [:]
        // Listening ports of the whole dump, before filtering: they decide the direction.
        var listening = Set<UInt16>()
        for s in sockets where s.state == .listen { listening.insert(s.localPort) }
        for s in sockets where filter.matches(s) {
            states[s.state, default: 0] += 1
            total += 1
            let outbound = portRange.contains(s.localPort) && !listening.contains(s.localPort)
            if s.state == .timeWait || s.state == .closeWait {
                let peer = Peer(
                    remote: s.remote, remotePort: outbound ? s.remotePort : nil, localPort: outbound ? nil : s.localPort)
                if s.state == .timeWait { tw[peer, default: 0] += 1 } else { cw[peer, default: 0] += 1 }
            }
            if s.state == .timeWait && outbound {
                perSource[Destination(remote: s.remote, port: s.remotePort), default: [:]][s.local, default: 0] += 1
            }
        }
        self.states = states
        self.total = total
        self.topTimeWait = Self.top(tw, top)
        self.topCloseWait = Self.top(cw, top)
        let ex = perSource.map { d, sources in
            PortExhaustion(
                remote: d.remote, remotePort: d.port, timeWait: sources.values.reduce(0, +),
                localAddresses: sources.count, maxPerLocalAddress: sources.values.max() ?? 0, portRange: portRange)
        }
        self.exhaustion = Array(
            ex.sorted {
                ($0.maxPerLocalAddress, $1.remote.text, $1.remotePort) > ($1.maxPerLocalAddress, $0.remote.text, $0.remotePort)
            }.prefix(max(0, top)))
    }

    public func count(_ state: TCPState) -> Int { states[state] ?? 0 }

    static func top(_ counts: [Peer: Int], _ n: Int) -> [PeerCount] {
        counts.map { PeerCount(peer: $0.key, count: $0.value) }
            .sorted {
                if $0.count != $1.count { return $0.count > $1.count }
                let a = $0.peer, b = $1.peer
                return (a.remote.text, a.remotePort ?? 0, a.localPort ?? 0) < (b.remote.text, b.remotePort ?? 0, b.localPort ?? 0)
            }
            .prefix(max(0, n)).map { $0 }
    }

    /// The states always listed (classic TCP states), then any other state seen.
    public var listedStates: [TCPState] {
        let classic = (1...11).map { TCPState(rawValue: UInt8($0)) }
        return classic + states.keys.filter { $0.rawValue > 11 || $0.rawValue == 0 }.sorted()
    }
}
