/// Text and JSON-lines output of a census and of doctor's report.
extension JSONLines {
    static func appendPeers(_ peers: [Census.PeerCount], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, p) in peers.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.appendASCII("{\"raddr\":\"")
            p.peer.remote.append(to: &out)
            out.appendASCII("\",\"rport\":")
            appendOptional(p.peer.remotePort.map(UInt64.init), to: &out)
            out.appendASCII(",\"lport\":")
            appendOptional(p.peer.localPort.map(UInt64.init), to: &out)
            out.appendASCII(",\"count\":")
            out.appendDecimal(UInt64(p.count))
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
    }

    static func appendStates(_ c: Census, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (i, s) in c.listedStates.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out.append(s.name)
            out.appendASCII("\":")
            out.appendDecimal(UInt64(c.count(s)))
        }
        out.append(UInt8(ascii: "}"))
    }

    /// One `census` line, newline included.
    public static func append(_ c: Census, to out: inout [UInt8]) {
        appendHeader("census", time: c.time, to: &out)
        out.appendASCII(",\"netns\":")
        appendOptional(c.netns.map(UInt64.init), to: &out)
        out.appendASCII(",\"netns_name\":")
        if let name = c.netnsName { out.appendJSONString(name) } else { out.appendASCII("null") }
        out.appendASCII(",\"family\":")
        switch c.filter.family {
        case .ipv4: out.appendASCII("\"ipv4\"")
        case .ipv6: out.appendASCII("\"ipv6\"")
        case nil: out.appendASCII("null")
        }
        out.appendASCII(",\"ports\":[")
        for (i, p) in c.filter.ports.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.appendDecimal(UInt64(p))
        }
        out.appendASCII("],\"total\":")
        out.appendDecimal(UInt64(c.total))
        out.appendASCII(",\"states\":")
        appendStates(c, to: &out)
        out.appendASCII(",\"top_time_wait\":")
        appendPeers(c.topTimeWait, to: &out)
        out.appendASCII(",\"top_close_wait\":")
        appendPeers(c.topCloseWait, to: &out)
        out.appendASCII(",\"port_range\":{\"low\":")
        out.appendDecimal(UInt64(c.portRange.low))
        out.appendASCII(",\"high\":")
        out.appendDecimal(UInt64(c.portRange.high))
        out.appendASCII(",\"size\":")
        out.appendDecimal(UInt64(c.portRange.size))
        if let p = c.ports {
            out.appendASCII(",\"usable\":")
            out.appendDecimal(UInt64(p.usable))
            out.appendASCII(",\"tw_reuse\":")
            if let r = p.twReuse { out.appendDecimal(UInt64(max(0, r))) } else { out.appendASCII("null") }
        }
        out.appendASCII("},\"port_exhaustion\":[")
        for (i, e) in c.exhaustion.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.appendASCII("{\"raddr\":\"")
            e.remote.append(to: &out)
            out.appendASCII("\",\"rport\":")
            out.appendDecimal(UInt64(e.remotePort))
            out.appendASCII(",\"time_wait\":")
            out.appendDecimal(UInt64(e.timeWait))
            out.appendASCII(",\"local_addrs\":")
            out.appendDecimal(UInt64(e.localAddresses))
            out.appendASCII(",\"max_per_laddr\":")
            out.appendDecimal(UInt64(e.maxPerLocalAddress))
            out.appendASCII(",\"use_pct\":")
            out.appendFixed(UInt64((e.usePercent * 10).rounded()), scaleDigits: 1, decimals: 1)
            out.append(UInt8(ascii: "}"))
        }
        out.appendASCII("]}\n")
    }
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
            "\nlocal port range \(c.portRange.low)-\(c.portRange.high) (\(c.portRange.size) ports\(c.ports.map { p in "; \(p.usable) usable, tcp_tw_reuse=\(p.twReuse.map(String.init) ?? "?")" } ?? "")); outbound TIME_WAIT per destination:\n")
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
            out.appendASCII(c.ports == nil ? " % of the range\n" : " % of the usable ports\n")
        }
    }
}
