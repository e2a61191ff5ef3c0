/// The TIME_WAIT tracker's and the leak groups' state as evidence (issue 21's `ChurnTracker`,
/// issue 22's `LeakRecord`s): read at each evaluation, by the live run and the replay alike.
extension DiagnosisEvidence {
    /// Local-port pressure per destination now, with its maker and the advice the tracker gives.
    public mutating func observe(churn: ChurnTracker, now: WallTime) {
        portReadings = [:]
        for r in churn.readings(now: now) {
            let d = r.destination
            let maker = churn.makers.topMaker(netns: d.netns, local: d.local, remote: d.remote, remotePort: d.remotePort, now: now)
            let peer = Peer(netns: d.netns, remote: d.remote, remotePort: d.remotePort, localPort: 0)
            observe(
                portReading: PortReading(
                    peer: peer, usePercent: r.usePercent, held: r.held, usable: r.usable, connectsPerSecond: r.connectsPerSecond,
                    forecastSeconds: r.forecastSeconds, advice: TimeWaitFacts.advice(maker: maker, reading: r), time: now))
            if let maker, peers[peer] != nil, peers[peer]!.makers[maker] == nil, peers[peer]!.makers.count < 8 {
                peers[peer]!.makers[maker] = 1
            }
        }
    }

    /// The leak groups still open (the latest record of each).
    public mutating func observe(leaks: [LeakRecord]) {
        note(
            leakGroups: leaks.compactMap { r in
                guard let holder = r.holder, r.sockets > 0 else { return nil }
                let a = r.address.family == .ipv6 ? "[\(r.address.text)]" : r.address.text
                return LeakGroupFacts(
                    holder: holder, container: r.container, netns: r.netns, endpoint: "\(r.role.rawValue) \(a):\(r.port)",
                    cause: Self.causeText(r.cause), opener: r.opener, sockets: r.sockets, oldestAgeNanoseconds: r.oldestAgeNanoseconds,
                    newPerMinute: r.newPerMinute, time: r.time)
            })
    }

    static func causeText(_ c: LeakCause) -> String {
        switch c {
        case .notAccepted: return "never accepted (it sits in the listener's accept queue: the accept loop is stuck or slow)"
        case .unread: return "unread (the peer's data and FIN lie unread: the reader stopped)"
        case .notClosed: return "not closed (read to the end, close() never called)"
        }
    }
}
