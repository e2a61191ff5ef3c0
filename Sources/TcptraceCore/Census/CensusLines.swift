/// A census's output: the JSON line from its declaration (`CensusRecord`), the text for people.
extension JSONLines {
    /// One `census` line, newline included.
    public static func append(_ c: Census, to out: inout [UInt8]) { append(CensusRecord(c), to: &out) }
}

extension TextLines {
    static func peer(_ p: Peer) -> String {
        if let rp = p.remotePort { return TextLayout.endpoint(p.remote, rp) }
        return "\(p.remote.text) -> local port \(p.localPort ?? 0)"
    }

    /// A census for people: counts per state, top peers, port use per destination.
    public func appendCensus(_ c: Census, to out: inout [UInt8]) {
        var t = ""
        if let ns = c.netns {
            t += "network namespace \(ns)"
            if let name = c.netnsName { t += " (\(name))" }
            t += ": "
        } else {
            t += "all network namespaces: "
        }
        t += "TCP sockets: \(c.total)"
        if c.filter.family != nil || !c.filter.ports.isEmpty {
            t += " ("
            if let f = c.filter.family { t += f == .ipv4 ? "IPv4" : "IPv6" }
            if !c.filter.ports.isEmpty {
                if c.filter.family != nil { t += ", " }
                t += "port " + c.filter.ports.map(String.init).joined(separator: ",")
            }
            t += ")"
        }
        t += "\n"
        for s in c.listedStates { t += "  " + s.name.padded(to: 13) + "\(c.count(s))\n" }
        for (title, peers) in [("TIME_WAIT", c.topTimeWait), ("CLOSE_WAIT", c.topCloseWait)] where !peers.isEmpty {
            t += "\ntop \(title) peers:\n"
            for p in peers { t += "  " + "\(p.count)".padded(to: 8) + Self.peer(p.peer) + "\n" }
        }
        if c.netns != nil {  // a total has no ports: they are per namespace
            let usable = c.ports.map { p in "; \(p.usable) usable, tcp_tw_reuse=\(p.twReuse.map(String.init) ?? "?")" } ?? ""
            t += "\nlocal port range \(c.portRange.low)-\(c.portRange.high) (\(c.portRange.size) ports\(usable)); local ports held per destination:\n"
            if c.exhaustion.isEmpty { t += "  none\n" }
            for e in c.exhaustion {
                t += "  " + TextLayout.endpoint(e.remote, e.remotePort).padded(to: 28)
                t += " \(e.timeWait) in TIME_WAIT, \(e.open) open, from \(e.localAddresses) source address\(e.localAddresses == 1 ? "" : "es"); at most \(e.maxPerLocalAddress) from one = "
                t += TextLayout.fixed(UInt64((e.usePercent * 10).rounded()), scaleDigits: 1, decimals: 1) + (c.ports == nil ? " % of the range\n" : " % of the usable ports\n")
            }
        }
        out.append(contentsOf: t.utf8)
    }
}
