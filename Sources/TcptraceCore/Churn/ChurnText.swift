extension TextLines {
    /// The summary's failed connects and "TIME_WAIT makers" section.
    public func appendChurn(_ t: ChurnTracker, to out: inout [UInt8]) {
        let s = ChurnSummary(t)
        if s.failedTotal > 0 {
            out.appendASCII("failed connects: ")
            out.appendDecimal(s.failedTotal)
            out.appendASCII(" (")
            out.append(contentsOf: s.failed.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ").utf8)
            out.appendASCII(")\n")
        }
        let makers = s.makers.filter { $0.timeWait > 0 || $0.failed > 0 }
        if !makers.isEmpty {
            out.appendASCII("TIME_WAIT makers (owner, destination: timewait sockets made, connections, failed connects)\n")
            for m in makers.prefix(10) {
                out.appendASCII("  ")
                out.append(m.other ? "(all other pairs)" : "\(m.owner.comm) (pid \(m.owner.pid))", paddedTo: 28)
                if !m.other {
                    out.appendASCII(" -> ")
                    Self.appendEndpoint(m.remote, m.remotePort, to: &out)
                    out.appendASCII(" from ")
                    out.append(contentsOf: m.local.text.utf8)
                }
                out.appendASCII(": ")
                out.appendDecimal(m.timeWait)
                out.appendASCII(" timewait, ")
                out.appendDecimal(m.connections)
                out.appendASCII(" connections")
                if m.failed > 0 {
                    out.appendASCII(", ")
                    out.appendDecimal(m.failed)
                    out.appendASCII(" failed")
                }
                out.append(UInt8(ascii: "\n"))
            }
        }
        if s.warnings > 0 {
            out.appendASCII("local-port pressure: ")
            out.appendDecimal(s.warnings)
            out.appendASCII(" warnings (PRESSURE lines)\n")
        }
    }
}
