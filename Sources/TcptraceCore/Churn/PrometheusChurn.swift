extension PrometheusText {
    /// Failed connects by reason (a fixed set), and for the destinations under the most
    /// local-port pressure (at most `top`) their use and forecast; the top TIME_WAIT makers.
    mutating func churn(_ sum: RunSummary, top: Int) {
        let t = sum.churn
        family("tcptrace_failed_connects_total", .counter, "connect() calls that failed, by the errno the application got.")
        for reason in ConnectError.allCases {
            let n = t.failedConnects[reason] ?? 0
            if n > 0 || reason == .addressNotAvailable || reason == .connectionRefused || reason == .timedOut {
                sample("tcptrace_failed_connects_total", [("reason", reason.rawValue)], n)
            }
        }
        family("tcptrace_port_pressure_warnings_total", .counter, "port_pressure records written (50 %, 80 % or a forecast under 60 s).")
        sample("tcptrace_port_pressure_warnings_total", [], t.warnings)

        let readings = t.readings(now: sum.end).prefix(top)
        func labels(_ d: PortPressure.Destination) -> [(String, String)] {
            [("netns", d.netns.map(String.init) ?? ""), ("laddr", d.local.text), ("raddr", d.remote.text), ("rport", String(d.remotePort))]
        }
        family("tcptrace_local_port_use_ratio", .gauge, "Local ports held towards a destination (timewait sockets of the last 60 s) over the usable ports, for the most used destinations.")
        for r in readings { sample("tcptrace_local_port_use_ratio", labels(r.destination), r.usePercent / 100) }
        family("tcptrace_local_port_exhaustion_forecast_seconds", .gauge, "Seconds until a destination's local ports are used up at the current rate (only where the steady state exceeds them).")
        for r in readings { if let f = r.forecastSeconds { sample("tcptrace_local_port_exhaustion_forecast_seconds", labels(r.destination), f) } }

        family("tcptrace_time_wait_made_alive", .gauge, "Timewait sockets made in the last 60 s, by the command that made them and destination (the top makers).")
        for v in t.makers.views(now: sum.end).prefix(top) where v.timeWaitAlive > 0 {
            let remote = v.isOther ? "other" : (v.key.remote.family == .ipv6 ? "[\(v.key.remote.text)]" : v.key.remote.text) + ":\(v.key.remotePort)"
            sample("tcptrace_time_wait_made_alive", [("comm", v.isOther ? "other" : v.key.owner.comm.description), ("remote", remote)], v.timeWaitAlive)
        }
    }
}
