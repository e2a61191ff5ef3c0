/// A census's output: the JSON line from its declaration (`CensusRecord`), the text for people.
extension JSONLines {
    /// One `census` line, newline included.
    public static func append(_ c: Census, to out: inout [UInt8]) { append(CensusRecord(c), to: &out) }
}

extension TextLines {
    static func appendPeer(_ p: Peer, to out: inout [UInt8]) {
        if let rp = p.remotePort {
            appendEndpoint(p.remote, rp, to: &out)
        } else {
            p.remote.append(to: &out)
            out.appendASCII(" -> local port ")
            out.appendDecimal(UInt64(p.localPort ?? 0))
        }
    }

    /// A census for people: counts per state, top peers, port use per destination.
    public func appendCensus(_ c: Census, to out: inout [UInt8]) {
        if let ns = c.netns {
            out.appendASCII("network namespace ")
            out.appendDecimal(UInt64(ns))
            if let name = c.netnsName { out.append(" (\(name))") }
            out.appendASCII(": ")
        } else {
            out.appendASCII("all network namespaces: ")
        }
        out.appendASCII("TCP sockets: ")
        out.appendDecimal(UInt64(c.total))
        if c.filter.family != nil || !c.filter.ports.isEmpty {
            out.appendASCII(" (")
            if let f = c.filter.family { out.append(f == .ipv4 ? "IPv4" : "IPv6") }
            if !c.filter.ports.isEmpty {
                if c.filter.family != nil { out.appendASCII(", ") }
                out.append("port " + c.filter.ports.map(String.init).joined(separator: ","))
            }
            out.appendASCII(")")
        }
        out.append(UInt8(ascii: "\n"))
        for s in c.listedStates {
            out.appendASCII("  ")
            out.append(s.name, paddedTo: 13)
            out.appendDecimal(UInt64(c.count(s)))
            out.append(UInt8(ascii: "\n"))
        }
        for (title, peers) in [("TIME_WAIT", c.topTimeWait), ("CLOSE_WAIT", c.topCloseWait)] where !peers.isEmpty {
            out.append("\ntop \(title) peers:\n")
            for p in peers {
                out.appendASCII("  ")
                let start = out.count
                out.appendDecimal(UInt64(p.count))
                if out.count - start < 8 { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 8 - (out.count - start))) }
                Self.appendPeer(p.peer, to: &out)
                out.append(UInt8(ascii: "\n"))
            }
        }
        guard c.netns != nil else { return }  // a total: ports are per namespace
        out.append(
            "\nlocal port range \(c.portRange.low)-\(c.portRange.high) (\(c.portRange.size) ports); outbound TIME_WAIT per destination:\n")
        if c.exhaustion.isEmpty {
            out.appendASCII("  none\n")
        }
        for e in c.exhaustion {
            out.appendASCII("  ")
            let start = out.count
            Self.appendEndpoint(e.remote, e.remotePort, to: &out)
            if out.count - start < 28 { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 28 - (out.count - start))) }
            out.append(
                " \(e.timeWait) in TIME_WAIT from \(e.localAddresses) source address\(e.localAddresses == 1 ? "" : "es"); at most \(e.maxPerLocalAddress) from one = ")
            out.appendFixed(UInt64((e.usePercent * 10).rounded()), scaleDigits: 1, decimals: 1)
            out.appendASCII(" % of the range\n")
        }
    }
}
