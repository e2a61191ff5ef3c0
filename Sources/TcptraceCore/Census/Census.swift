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
    /// The network namespace counted (its inode), and its `ip netns` name; nil: a total over
    /// several namespaces (then the top lists and port use, which are per namespace, are empty).
    public var netns: UInt32?
    public var netnsName: String?
    public var filter: CensusFilter
    public var portRange: PortRange
    /// The namespace's local-port settings (reserved ports, tcp_tw_reuse), when read.
    public var ports: NamespacePorts? {
        didSet {
            for i in exhaustion.indices { exhaustion[i].usablePorts = ports?.usable }
        }
    }
    /// Every state seen, with its count (states absent from the map: 0).
    public var states: [TCPState: Int]
    public var total: Int
    /// Most sockets first, ties in address order (IPv4 first); at most `top` each.
    public var topTimeWait: [PeerCount]
    public var topCloseWait: [PeerCount]
    /// Highest use first, ties in address order; at most `top`.
    public var exhaustion: [PortExhaustion]

    public init(
        time: WallTime, sockets: some Collection<SocketSnapshot>, filter: CensusFilter = CensusFilter(),
        portRange: PortRange = .linuxDefault, top: Int = Census.defaultTop
    ) {
        var tally = Tally(filter: filter, portRange: portRange)
        for s in sockets where s.state == .listen { tally.add(s) }
        for s in sockets where s.state != .listen { tally.add(s) }
        self = tally.census(time: time, top: top)
    }

    init(
        time: WallTime, filter: CensusFilter, portRange: PortRange, states: [TCPState: Int], total: Int,
        topTimeWait: [PeerCount], topCloseWait: [PeerCount], exhaustion: [PortExhaustion]
    ) {
        self.time = time
        self.filter = filter
        self.portRange = portRange
        self.states = states
        self.total = total
        self.topTimeWait = topTimeWait
        self.topCloseWait = topCloseWait
        self.exhaustion = exhaustion
    }

    public func count(_ state: TCPState) -> Int { states[state] ?? 0 }

    /// Counts summed over namespaces (ports and peers are per namespace: not merged).
    public static func total(of parts: [Census], time: WallTime) -> Census {
        var states: [TCPState: Int] = [:]
        for c in parts { states.merge(c.states, uniquingKeysWith: +) }
        return Census(
            time: time, filter: parts.first?.filter ?? CensusFilter(), portRange: parts.first?.portRange ?? .linuxDefault,
            states: states, total: parts.reduce(0) { $0 + $1.total }, topTimeWait: [], topCloseWait: [], exhaustion: [])
    }

    /// The states always listed (classic TCP states), then any other state seen.
    public var listedStates: [TCPState] {
        let classic = (1...11).map { TCPState(rawValue: UInt8($0)) }
        return classic + states.keys.filter { $0.rawValue > 11 || $0.rawValue == 0 }.sorted()
    }
}

extension Census {
    /// Counts sockets one at a time as a dump delivers them; nothing per socket is kept.
    ///
    /// Direction (outbound: local port ephemeral and not listened on) needs the listening
    /// ports, so listening sockets must come first. A sock_diag dump delivers them first (the
    /// kernel walks its listening table before the established one); `Census(sockets:)` puts
    /// them first for any other source.
    public struct Tally {
        public let filter: CensusFilter
        public let portRange: PortRange
        private var perState = [Int](repeating: 0, count: 256)
        private var total = 0
        /// One bit per port that some socket listens on, over the whole dump (before filtering).
        private var listening = [UInt64](repeating: 0, count: 1024)
        /// Remote address (a, b); c: see the bits below.
        private var peers = CountTable<PackedKey>()
        /// Destination (remote address, remote port) -> its number in `destinations`, plus 1.
        private var destinationIDs = CountTable<PackedKey>()
        /// total: timewait sockets; open: the other states; most: held (any state) by one source.
        private var destinations: [(remote: IPAddress, port: UInt16, total: Int, open: Int, sources: Int, most: Int)] = []
        /// (destination number, local address): outbound sockets in any state; one entry per source
        /// address and destination, so IPv4 ones are one word (number << 32 | address): 131,072
        /// of them took 7 MB as `PackedKey`s (11 MB while the table doubled), 3 MB as words.
        private var sources = CountTable<PackedKey>()
        private var sources4 = CountTable<UInt64>()

        // Bits of a peer key's third word: port 0-15, outbound 16, TIME_WAIT 17, remote IPv6 18.
        private static let outboundBit: UInt64 = 1 << 16
        private static let timeWaitBit: UInt64 = 1 << 17
        private static let remoteV6Bit: UInt64 = 1 << 18

        public init(filter: CensusFilter = CensusFilter(), portRange: PortRange = .linuxDefault) {
            self.filter = filter
            self.portRange = portRange
        }

        public mutating func add(_ s: SocketSnapshot) {
            if s.state == .listen { listening[Int(s.localPort >> 6)] |= 1 << UInt64(s.localPort & 63) }
            guard filter.matches(s) else { return }
            perState[Int(s.state.rawValue)] += 1
            total += 1
            guard s.state != .listen else { return }
            let timeWait = s.state == .timeWait
            let outbound = portRange.contains(s.localPort) && !isListening(s.localPort)
            guard outbound || timeWait || s.state == .closeWait else { return }
            let r = PackedKey.words(s.remote)
            if timeWait || s.state == .closeWait {
                // Outbound: grouped by the remote service; inbound: by our service port.
                peers.increment(
                    PackedKey(
                        a: r.high, b: r.low,
                        c: r.v6 * Self.remoteV6Bit | (timeWait ? Self.timeWaitBit : 0)
                            | (outbound ? Self.outboundBit | UInt64(s.remotePort) : UInt64(s.localPort))))
            }
            // Every outbound socket holds a local port: TIME_WAIT for 60 s, the others while open.
            guard outbound else { return }
            let next = UInt32(destinations.count + 1)
            let id = Int(destinationIDs.value(PackedKey(a: r.high, b: r.low, c: r.v6 << 16 | UInt64(s.remotePort)), ifNew: next))
            if id == Int(next) { destinations.append((s.remote, s.remotePort, 0, 0, 0, 0)) }
            let held: Int
            if case .v4(let a) = s.local {
                held = Int(sources4.increment(UInt64(id) << 32 | UInt64(a)))
            } else {
                let l = PackedKey.words(s.local)
                held = Int(sources.increment(PackedKey(a: UInt64(id) | l.v6 << 32, b: l.high, c: l.low)))
            }
            // The kernel's timewait sockets: TIME_WAIT, and FIN_WAIT2 once closed by the application
            // (no file: the full socket is gone, as the tracer saw it close); the rest are open.
            if timeWait || s.state == .finWait2 && s.inode == 0 {
                destinations[id - 1].total += 1
            } else {
                destinations[id - 1].open += 1
            }
            if held == 1 { destinations[id - 1].sources += 1 }
            destinations[id - 1].most = max(destinations[id - 1].most, held)
        }

        private func isListening(_ port: UInt16) -> Bool { listening[Int(port >> 6)] >> UInt64(port & 63) & 1 == 1 }

        public func census(time: WallTime, top: Int = Census.defaultTop) -> Census {
            var states: [TCPState: Int] = [:]
            for (raw, n) in perState.enumerated() where n > 0 { states[TCPState(rawValue: UInt8(raw))] = n }
            var timeWait = TopN<PeerCount>(top, by: Self.ranks)
            var closeWait = TopN<PeerCount>(top, by: Self.ranks)
            peers.forEach { key, n in
                let remote = PackedKey.address(high: key.a, low: key.b, v6: key.c & Self.remoteV6Bit != 0)
                let port = UInt16(truncatingIfNeeded: key.c)
                let outbound = key.c & Self.outboundBit != 0
                let p = PeerCount(
                    peer: Peer(remote: remote, remotePort: outbound ? port : nil, localPort: outbound ? nil : port),
                    count: Int(n))
                if key.c & Self.timeWaitBit != 0 { timeWait.offer(p) } else { closeWait.offer(p) }
            }
            var exhaustion = TopN<PortExhaustion>(top) { x, y in
                if x.maxPerLocalAddress != y.maxPerLocalAddress { return x.maxPerLocalAddress > y.maxPerLocalAddress }
                if x.remote != y.remote { return x.remote.precedes(y.remote) }
                return x.remotePort < y.remotePort
            }
            for d in destinations {
                exhaustion.offer(
                    PortExhaustion(
                        remote: d.remote, remotePort: d.port, timeWait: d.total, open: d.open, localAddresses: d.sources,
                        maxPerLocalAddress: d.most, portRange: portRange))
            }
            return Census(
                time: time, filter: filter, portRange: portRange, states: states, total: total,
                topTimeWait: timeWait.elements, topCloseWait: closeWait.elements, exhaustion: exhaustion.elements)
        }

        /// Most sockets first; ties in address order (IPv4 first), then port.
        static func ranks(_ x: PeerCount, _ y: PeerCount) -> Bool {
            if x.count != y.count { return x.count > y.count }
            if x.peer.remote != y.peer.remote { return x.peer.remote.precedes(y.peer.remote) }
            return (x.peer.remotePort ?? 0, x.peer.localPort ?? 0) < (y.peer.remotePort ?? 0, y.peer.localPort ?? 0)
        }
    }
}

extension IPAddress {
    /// Numeric order, IPv4 before IPv6: a stable order for ties in ranked lists.
    func precedes(_ other: IPAddress) -> Bool {
        let x = PackedKey.words(self), y = PackedKey.words(other)
        return (x.v6, x.high, x.low) < (y.v6, y.high, y.low)
    }
}
