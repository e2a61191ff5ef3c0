extension HTMLReportModel {
    /// The log's CLOSE_WAIT leak groups (as the text summary lists them), each with its opener
    /// stack; nothing when the log has no `leak` records.
    func leakGroups(_ m: inout Markup) {
        let groups = leaks.groups
        guard !groups.isEmpty else { return }
        m.raw("<h3>Leaks, grouped by holder, endpoint, cause and opener</h3>")
        m.raw("<table><tr><th>sockets</th><th>cause</th><th>holder</th><th>endpoint</th><th>oldest</th><th>per minute</th><th>opener stack</th></tr>")
        for g in groups.prefix(TextLines.leakSectionGroups) {
            m.raw("<tr><td class=\"n\">\(g.sockets)</td><td>")
            m.text(g.cause.rawValue)
            m.raw("</td><td>")
            var who = g.holder.map { "\($0.pid) (\($0.comm))" } ?? "holder unknown"
            if let c = g.container { who += " [\(c)]" }
            m.text(who)
            m.raw("</td><td>")
            m.text("\(g.role.rawValue) \(g.role == .client ? "→" : "on") \(TextLayout.endpoint(g.address, g.port))")
            m.raw("</td><td class=\"n\">")
            m.text((g.ageIsLowerBound ? "≥ " : "") + ChartAxis.duration(g.oldestAgeNanoseconds))
            m.raw("</td><td class=\"n\">")
            m.text("+\(g.newPerMinute) −\(g.closedPerMinute) \(g.trend.rawValue)")
            m.raw("</td><td>")
            if let id = g.stack, let s = leaks.stacks[id] {
                m.raw("<code>")
                for (i, f) in s.frames.enumerated() {
                    if i > 0 { m.raw("<br/>") }
                    m.text(f)
                }
                if s.truncated { m.raw("<br/>") ; m.text("(walk stopped)") }
                m.raw("</code>")
            } else {
                m.text(g.opener ?? "–")
            }
            m.raw("</td></tr>")
        }
        m.raw("</table>")
        if groups.count > TextLines.leakSectionGroups {
            m.raw("<p class=\"note\">")
            m.text("\(groups.count - TextLines.leakSectionGroups) more groups.")
            m.raw("</p>")
        }
    }
}
