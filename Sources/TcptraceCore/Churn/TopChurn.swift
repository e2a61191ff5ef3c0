extension TopScreen {
    /// Under the TIME_WAIT destinations: failed connects by reason, then who makes the timewait
    /// sockets, towards where, and how much of that destination's local ports they hold.
    func makerLines(_ s: TopSnapshot) -> [Line] {
        var out: [Line] = []
        let failed = s.failedConnects.values.reduce(0, +)
        if failed > 0 {
            let reasons = s.failedConnects.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
            out.append(Line(text: "  FAILED CONNECTS \(failed): \(reasons)", style: .leak))
        }
        for v in s.makers where v.timeWaitAlive > 0 || v.long.failed > 0 {
            var b: [UInt8] = []
            b.appendASCII("  MAKER ")
            if v.isOther {
                b.appendASCII("(all other pairs)")
            } else {
                b.append(contentsOf: "\(v.key.owner.comm) (pid \(v.key.owner.pid)) -> ".utf8)
                TextLines.appendEndpoint(v.key.remote, v.key.remotePort, to: &b)
            }
            b.append(contentsOf: "  \(v.timeWaitAlive) alive, ".utf8)
            Self.appendRate(v.short.timeWaitPerSecond, to: &b)
            b.appendASCII("/s")
            if v.long.failed > 0 { b.append(contentsOf: ", \(v.long.failed) failed".utf8) }
            if !v.isOther,
                let p = s.pressure.first(where: {
                    $0.destination.netns == v.key.netns && $0.destination.remote == v.key.remote
                        && $0.destination.remotePort == v.key.remotePort && $0.destination.local == v.key.local
                })
            {
                b.append(contentsOf: ", ports \(Int(p.usePercent.rounded())) % of \(p.usable)".utf8)
                if let f = p.forecastSeconds { b.append(contentsOf: ", gone in \(Int(f.rounded())) s".utf8) }
            }
            out.append(Line(text: String(decoding: b, as: UTF8.self), style: p(v, s) ? .leak : .plain))
        }
        return out
    }

    /// A maker whose destination is warned about.
    private func p(_ v: TimeWaitMakers.View, _ s: TopSnapshot) -> Bool {
        s.pressure.contains {
            $0.destination.remote == v.key.remote && $0.destination.remotePort == v.key.remotePort
                && ($0.usePercent >= PortPressure.warnPercents.half || ($0.forecastSeconds ?? .infinity) < PortPressure.warnForecastSeconds)
        }
    }
}
