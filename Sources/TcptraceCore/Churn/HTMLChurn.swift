extension HTMLReportModel {
    /// Who made the timewait sockets and towards where, the failed connects by reason, and the
    /// port-pressure warnings of the log (as the live run wrote them).
    func churn(_ m: inout Markup, summary: RunSummary) {
        let s = ChurnSummary(summary.churn)
        if s.failedTotal > 0 {
            m.raw("<p>")
            m.text(
                "\(s.failedTotal) failed connects: "
                    + s.failed.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", "))
            m.raw("</p>")
        }
        let makers = s.makers.filter { $0.timeWait > 0 || $0.failed > 0 }
        if makers.isEmpty {
            m.raw("<p class=\"note\">No connection in the log made a timewait socket or failed to connect.</p>")
        } else {
            m.raw("<table><tr><th>owner</th><th>local → destination</th><th>timewait sockets</th><th>connections</th><th>closed by us</th><th>failed connects</th><th>median lifetime</th></tr>")
            for r in makers.prefix(20) {
                m.raw("<tr><td>")
                m.text(r.other ? "all other pairs" : "\(r.owner.comm) (pid \(r.owner.pid))")
                m.raw("</td><td>")
                m.text(r.other ? "" : "\(r.local.text) → \(Self.endpoint(r.remote, r.remotePort))")
                m.raw("</td><td>\(r.timeWait)</td><td>\(r.connections)</td><td>\(r.closedByUs)</td><td>\(r.failed)</td><td>")
                m.text(r.lifetime.map { "\(ChartAxis.fixed(Double($0) / 1e6, 3)) ms" } ?? "–")
                m.raw("</td></tr>")
            }
            m.raw("</table>")
        }
        if pressureWarningCount > 0 {
            m.raw("<p class=\"banner bad\">")
            m.text("\(pressureWarningCount) local-port pressure warnings (port_pressure records):")
            m.raw("</p><ul>")
            for w in pressureWarnings {
                m.raw("<li>")
                m.text(
                    "\(w.level.rawValue) \(w.local.text) → \(Self.endpoint(w.remote, w.remotePort)): \(w.held) of \(w.usable) ports, "
                        + "\(ChartAxis.fixed(w.connectsPerSecond, 1))/s"
                        + (w.forecastNanoseconds.map { ", gone in \(ChartAxis.fixed(Double($0) / 1e9, 1)) s" } ?? "") + ". " + w.advice)
                m.raw("</li>")
            }
            m.raw("</ul>")
        }
    }
}
