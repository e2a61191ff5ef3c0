/// What a run knows, gathered for the analyzers (`Diagnosis`): fed plain values by the live run
/// and by the replay alike, so a replay derives the live run's findings. Bounded: at most
/// `capacity` destinations and holders (more are counted, not kept).
public struct DiagnosisEvidence: Sendable {
    /// A destination (client connections: the remote service) or the peers of a local service
    /// (server connections: the remote address, our port), per network namespace.
    public struct Peer: Hashable, Sendable {
        public var netns: UInt32?
        public var remote: IPAddress
        /// Client: the remote port; server: 0.
        public var remotePort: UInt16
        /// Server: our port; client: 0.
        public var localPort: UInt16

        public var text: String {
            let a = remote.family == .ipv6 ? "[\(remote.text)]" : remote.text
            return localPort != 0 ? "\(a) -> local port \(localPort)" : "\(a):\(remotePort)"
        }
    }

    /// Connections closed towards one peer.
    public struct PeerStats: Sendable {
        public var connections: UInt64 = 0
        public var clientConnections: UInt64 = 0
        public var timeWait: UInt64 = 0
        public var retransmissions: UInt64 = 0
        public var withRetransmissions: UInt64 = 0
        public var rtt = DurationHistogram()
        public var connect = DurationHistogram()
        public var failedConnects: [String: UInt64] = [:]
        /// The process that made the most of its TIME_WAIT, and how many.
        public var makers: [Owner: UInt64] = [:]
        public var first: WallTime
        public var last: WallTime
        init(at t: WallTime) {
            first = t
            last = t
        }
        public var topMaker: (owner: Owner, count: UInt64)? {
            makers.max { ($0.value, $1.key.pid) < ($1.value, $0.key.pid) }.map { ($0.key, $0.value) }
        }
    }

    /// CLOSE_WAIT sockets held by one process.
    public struct Holder: Sendable {
        public var owner: Owner
        public var netns: UInt32?
        public var container: String?
        /// Cookies still in CLOSE_WAIT, with when they entered it (bounded).
        public var open: [UInt64: WallTime] = [:]
        public var openLowerBound: Set<UInt64> = []
        public var unread: UInt64 = 0
        public var reported: UInt64 = 0
        public var closed: UInt64 = 0
        public var localPorts: [UInt16: UInt64] = [:]
        /// From the leak groups (leak branch): the cause and the opener stack, when known.
        public var cause: String?
        public var opener: String?
        /// From the leak groups: sockets in this holder's groups now, their oldest, the endpoints.
        public var groupSockets: UInt64 = 0
        public var groupOldest: WallTime?
        public var groupEndpoints: [String] = []
        public var growingPerMinute: UInt64 = 0
        /// Sockets per cause over the holder's groups (the leak groups' causes).
        public var causes: [String: UInt64] = [:]
        public var first: WallTime
        public var last: WallTime
    }

    /// A namespace's listen-queue counters at the start and now (/proc/net/netstat).
    public struct ListenCounters: Hashable, Sendable {
        public var netns: UInt32?
        public var name: String?
        public var overflowsAtStart: UInt64
        public var dropsAtStart: UInt64
        public var overflows: UInt64
        public var drops: UInt64
        public var first: WallTime
        public var last: WallTime
    }

    /// One destination's local-port pressure, as the TIME_WAIT tracker (`PortPressure`) read it.
    public struct PortReading: Hashable, Sendable {
        public var peer: Peer
        public var usePercent: Double
        public var held: UInt64
        public var usable: Int
        public var connectsPerSecond: Double
        public var forecastSeconds: Double?
        public var advice: String
        public var time: WallTime
        public init(
            peer: Peer, usePercent: Double, held: UInt64, usable: Int, connectsPerSecond: Double, forecastSeconds: Double?,
            advice: String, time: WallTime
        ) {
            self.peer = peer
            self.usePercent = usePercent
            self.held = held
            self.usable = usable
            self.connectsPerSecond = connectsPerSecond
            self.forecastSeconds = forecastSeconds
            self.advice = advice
            self.time = time
        }
    }

    public let capacity: Int
    public var peers: [Peer: PeerStats] = [:]
    public var peersNotKept: UInt64 = 0
    public var holders: [UInt32: Holder] = [:]
    public var holdersNotKept: UInt64 = 0
    /// The run groups leaks: a never-accepted child's lingerer (no holder, pid 0) is in its
    /// listener's process's group, not a leak of an unknown process.
    public private(set) var hasLeakGroups = false
    /// CLOSE_WAIT sockets kept over all holders (at most `maxOpenSockets`), and those counted only.
    public private(set) var openSockets = 0
    public var socketsNotKept: UInt64 = 0
    public static let maxOpenSockets = 65_536
    /// The latest census per namespace (nil key: a census without a namespace).
    public var census: [UInt32?: Census] = [:]
    /// From a log: the latest states per namespace (the census records' counts).
    public var censusCounts: [UInt32?: CensusRecord] = [:]
    public var listen: [UInt32?: ListenCounters] = [:]
    public var portReadings: [Peer: PortReading] = [:]
    public var sysctls: TCPSysctls?
    /// Growth of TcpExtTCPTimeWaitOverflow during the run.
    public var timeWaitOverflow: UInt64?
    public var lost = LostEvents()
    public var events: UInt64 = 0
    /// Things that could not be read, each said once: (what, why, when).
    public var missing: [String: (why: String, at: WallTime)] = [:]
    /// Findings the log recorded of kinds a log cannot derive (sysctl, listen overflow): `report`
    /// carries them over.
    public var recorded: [String: Finding] = [:]
    public var start: WallTime?
    public var now: WallTime = WallTime(nanoseconds: 0)

    public init(capacity: Int = 1024) { self.capacity = max(1, capacity) }

    mutating func see(_ t: WallTime) {
        if start == nil || t < start! { start = t }
        if t > now { now = t }
    }

    /// A connection that closed.
    public mutating func observe(connection c: ConnectionRecord, failedConnect: String? = nil) {
        see(c.time)
        let peer: Peer
        switch c.role {
        case .client, .unknown:
            peer = Peer(netns: c.identity.netns, remote: c.identity.remote, remotePort: c.identity.remotePort, localPort: 0)
        case .server:
            peer = Peer(netns: c.identity.netns, remote: c.identity.remote, remotePort: 0, localPort: c.identity.localPort)
        default:
            return
        }
        if peers[peer] == nil {
            guard peers.count < capacity else {
                peersNotKept += 1
                return
            }
            peers[peer] = PeerStats(at: c.time)
        }
        let i = peers.index(forKey: peer)!
        peers.values[i].last = c.time
        peers.values[i].connections += 1
        if c.role == .client { peers.values[i].clientConnections += 1 }
        if let f = failedConnect { peers.values[i].failedConnects[f, default: 0] += 1 }
        if c.timeWait {
            peers.values[i].timeWait += 1
            if let o = c.owner, peers.values[i].makers[o] != nil || peers.values[i].makers.count < 8 {
                peers.values[i].makers[o, default: 0] += 1
            }
        }
        if let r = c.retransmissions, r > 0 {
            peers.values[i].retransmissions += UInt64(r)
            peers.values[i].withRetransmissions += 1
        }
        if let rtt = c.smoothedRTTMicroseconds, rtt > 0, !c.partial { peers.values[i].rtt.record(UInt64(rtt) * 1000) }
        if let ns = c.connectNanoseconds { peers.values[i].connect.record(ns) }
    }

    /// A lingerer record (lingering or closed).
    public mutating func observe(lingerer l: LingererRecord, container: String? = nil) {
        see(l.time)
        let owner = l.holder?.process ?? Owner(pid: 0, comm: "?")
        if holders[owner.pid] == nil {
            guard holders.count < capacity else {
                holdersNotKept += 1
                return
            }
            holders[owner.pid] = Holder(owner: owner, netns: l.identity.netns, container: container, first: l.time, last: l.time)
        }
        let i = holders.index(forKey: owner.pid)!
        holders.values[i].last = l.time
        if holders.values[i].container == nil { holders.values[i].container = container }
        switch l.event {
        case .lingering, .openAtEnd:
            let entered = WallTime(nanoseconds: l.time.nanoseconds - Int64(l.ageNanoseconds))
            if holders.values[i].open[l.identity.cookie] == nil {
                if openSockets < Self.maxOpenSockets {
                    holders.values[i].open[l.identity.cookie] = entered
                    openSockets += 1
                } else {
                    socketsNotKept += 1
                }
                holders.values[i].reported += 1
                holders.values[i].unread += l.unreadBytes ?? 0
                if holders.values[i].localPorts[l.identity.localPort] != nil || holders.values[i].localPorts.count < 8 {
                    holders.values[i].localPorts[l.identity.localPort, default: 0] += 1
                }
            }
            if l.ageIsLowerBound { holders.values[i].openLowerBound.insert(l.identity.cookie) }
        case .closed:
            if holders.values[i].open.removeValue(forKey: l.identity.cookie) != nil {
                holders.values[i].closed += 1
                openSockets -= 1
            }
            holders.values[i].openLowerBound.remove(l.identity.cookie)
        }
    }

    /// The cause and opener of a process's leak (the leak groups, when the run has them).
    public mutating func note(leakOf pid: UInt32, cause: String?, opener: String?) {
        guard holders[pid] != nil else { return }
        if let cause { holders[pid]!.cause = cause }
        if let opener { holders[pid]!.opener = opener }
    }

    /// The leak groups of one evaluation (holder, endpoint, cause, opener), as plain values:
    /// `groups` replaces what the previous evaluation noted. A group's holder may be one no
    /// lingerer named (a never-accepted child belongs to its listener's process).
    public struct LeakGroupFacts: Sendable {
        public var holder: Owner
        public var container: String?
        public var netns: UInt32?
        public var endpoint: String
        public var cause: String
        public var opener: String?
        public var sockets: UInt64
        public var oldestAgeNanoseconds: UInt64
        public var newPerMinute: UInt64
        public var time: WallTime
        public init(
            holder: Owner, container: String?, netns: UInt32?, endpoint: String, cause: String, opener: String?, sockets: UInt64,
            oldestAgeNanoseconds: UInt64, newPerMinute: UInt64, time: WallTime
        ) {
            self.holder = holder
            self.container = container
            self.netns = netns
            self.endpoint = endpoint
            self.cause = cause
            self.opener = opener
            self.sockets = sockets
            self.oldestAgeNanoseconds = oldestAgeNanoseconds
            self.newPerMinute = newPerMinute
            self.time = time
        }
    }

    public mutating func note(leakGroups groups: [LeakGroupFacts]) {
        hasLeakGroups = true
        for k in holders.keys {
            holders[k]!.groupSockets = 0
            holders[k]!.groupOldest = nil
            holders[k]!.groupEndpoints = []
            holders[k]!.growingPerMinute = 0
            holders[k]!.causes = [:]
        }
        // The largest group of a holder gives its cause and opener.
        for g in groups.sorted(by: { $0.sockets > $1.sockets }) where g.sockets > 0 {
            see(g.time)
            let pid = g.holder.pid
            if holders[pid] == nil {
                guard holders.count < capacity else {
                    holdersNotKept += 1
                    continue
                }
                holders[pid] = Holder(owner: g.holder, netns: g.netns, container: g.container, first: g.time, last: g.time)
            }
            let entered = WallTime(nanoseconds: g.time.nanoseconds - Int64(g.oldestAgeNanoseconds))
            holders[pid]!.last = g.time
            if holders[pid]!.groupSockets == 0 {
                holders[pid]!.cause = g.cause
                holders[pid]!.opener = g.opener ?? holders[pid]!.opener
            }
            holders[pid]!.groupSockets += g.sockets
            holders[pid]!.causes[g.cause, default: 0] += g.sockets
            holders[pid]!.growingPerMinute += g.newPerMinute
            holders[pid]!.groupOldest = min(holders[pid]!.groupOldest ?? entered, entered)
            if holders[pid]!.groupEndpoints.count < 4 { holders[pid]!.groupEndpoints.append(g.endpoint) }
        }
    }

    public mutating func observe(census: [Census]) {
        for c in census where c.netns != nil || census.count == 1 {
            see(c.time)
            self.census[c.netns] = c
        }
    }

    public mutating func observe(censusCounts c: CensusRecord) {
        see(c.time)
        censusCounts[c.netns] = c
    }

    /// A namespace's /proc/net/netstat read now (nil: unreadable, said through `missing`).
    public mutating func observe(listenOverflows: UInt64?, drops: UInt64?, netns: UInt32?, name: String?, at t: WallTime) {
        see(t)
        guard let o = listenOverflows else { return }
        let d = drops ?? 0
        if var l = listen[netns] {
            l.overflows = max(o, l.overflows)
            l.drops = max(d, l.drops)
            l.last = t
            listen[netns] = l
        } else {
            listen[netns] = ListenCounters(
                netns: netns, name: name, overflowsAtStart: o, dropsAtStart: d, overflows: o, drops: d, first: t, last: t)
        }
    }

    public mutating func observe(portReading r: PortReading) {
        see(r.time)
        portReadings[r.peer] = r
    }

    /// Something could not be read; true the first time (the caller says it once).
    public mutating func noteMissing(_ what: String, why: String, at t: WallTime) -> Bool {
        guard missing[what] == nil, missing.count < 64 else { return false }
        missing[what] = (why, t)
        return true
    }

    /// A finding a recorded log carries (kinds a log cannot derive).
    public mutating func observe(recorded f: FindingRecord) {
        see(f.time)
        guard Diagnosis.hostOnlyKinds.contains(f.kind) else { return }
        if f.event == .closed {
            recorded[f.id] = nil
        } else if recorded[f.id] != nil || recorded.count < capacity {
            recorded[f.id] = f.finding
        }
    }
}
