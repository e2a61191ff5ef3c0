extension TextLines {
    /// The summary's failed connects and "TIME_WAIT makers" section.
    public func churnText(_ t: ChurnTracker) -> String {
        let s = ChurnSummary(t)
        var text = ""
        if s.failedTotal > 0 {
            text += "failed connects: \(s.failedTotal) ("
            text += s.failed.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ") + ")\n"
        }
        let makers = s.makers.filter { $0.timeWait > 0 || $0.failed > 0 }
        if !makers.isEmpty {
            text += "TIME_WAIT makers (owner, destination: timewait sockets made, connections, failed connects)\n"
            for m in makers.prefix(10) {
                text += "  " + (m.other ? "(all other pairs)" : "\(m.owner.comm) (pid \(m.owner.pid))").padded(to: 28)
                if !m.other { text += " -> \(TextLayout.endpoint(m.remote, m.remotePort)) from \(m.local.text)" }
                text += ": \(m.timeWait) timewait, \(m.connections) connections"
                if m.failed > 0 { text += ", \(m.failed) failed" }
                text += "\n"
            }
        }
        if s.warnings > 0 { text += "local-port pressure: \(s.warnings) warnings (PRESSURE lines)\n" }
        return text
    }
}
