extension PrometheusText {
    /// Failed connects by reason (a fixed set), and for the destinations under the most
    /// local-port pressure (at most `top`) their use and forecast; the top TIME_WAIT makers.
    mutating func churn(_ sum: RunSummary, top: Int) {
        typealias F = MetricFamily
        let t = sum.churn
        family(F.failedConnectsTotal)
        for reason in ConnectError.allCases {
            let n = t.failedConnects[reason] ?? 0
            if n > 0 || reason == .addressNotAvailable || reason == .connectionRefused || reason == .timedOut {
                sample(F.failedConnectsTotal, [reason.rawValue], n)
            }
        }
        family(F.portPressureWarningsTotal)
        sample(F.portPressureWarningsTotal, [], t.warnings)

        let readings = t.readings(now: sum.end).prefix(top)
        func labels(_ d: PortPressure.Destination) -> [String] {
            [d.netns.map(String.init) ?? "", d.local.text, d.remote.text, String(d.remotePort)]
        }
        family(F.localPortUseRatio)
        for r in readings { sample(F.localPortUseRatio, labels(r.destination), r.usePercent / 100) }
        family(F.localPortExhaustionForecastSeconds)
        for r in readings { if let f = r.forecastSeconds { sample(F.localPortExhaustionForecastSeconds, labels(r.destination), f) } }

        family(F.timeWaitMadeAlive)
        for v in t.makers.views(now: sum.end).prefix(top) where v.timeWaitAlive > 0 {
            let remote = v.isOther ? "other" : TextLayout.endpoint(v.key.remote, v.key.remotePort)
            sample(F.timeWaitMadeAlive, [v.isOther ? "other" : v.key.owner.comm.description, remote], v.timeWaitAlive)
        }
    }
}
