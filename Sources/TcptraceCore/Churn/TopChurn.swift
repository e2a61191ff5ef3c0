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
            var t = "  MAKER "
            t += v.isOther ? "(all other pairs)" : "\(v.key.owner.comm) (pid \(v.key.owner.pid)) -> " + TextLayout.endpoint(v.key.remote, v.key.remotePort)
            t += "  \(v.timeWaitAlive) alive, \(Self.rate(v.short.timeWaitPerSecond))/s"
            if v.long.failed > 0 { t += ", \(v.long.failed) failed" }
            if !v.isOther,
                let p = s.pressure.first(where: {
                    $0.destination.netns == v.key.netns && $0.destination.remote == v.key.remote
                        && $0.destination.remotePort == v.key.remotePort && $0.destination.local == v.key.local
                })
            {
                t += ", ports \(Int(p.usePercent.rounded())) % of \(p.usable)"
                if let f = p.forecastSeconds { t += ", gone in \(Int(f.rounded())) s" }
            }
            out.append(Line(text: t, style: p(v, s) ? .leak : .plain))
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
