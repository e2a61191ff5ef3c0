extension JSONLines {
    /// One `connection` line, newline included.
    public static func append(_ c: ConnectionRecord, to out: inout [UInt8]) {
        var cache = RFC3339Cache()
        append(c, to: &out, timeCache: &cache)
    }

    /// One `connection` line, reusing the formatted second from `timeCache` (the live path).
    /// Written through one cursor: its size is bounded by the timeline and the owner's comm.
    public static func append(_ c: ConnectionRecord, to out: inout [UInt8], timeCache: inout RFC3339Cache) {
        // Without timeline and comm the longest line is under 680 bytes; a span is at most 56.
        let maxBytes = 680 + 56 * c.timeline.count + 6 * (c.owner?.comm.count ?? 0)
        if maxBytes > 4096 {
            appendPlain(c, to: &out, timeCache: &timeCache)
            return
        }
        out.appendThroughCursor(maxBytes: maxBytes) { o in
            headerAndIdentity(
                "{\"type\":\"connection\",\"v\":", time: c.time, cookie: c.cookie, family: c.family, local: c.local,
                localPort: c.localPort, remote: c.remote, remotePort: c.remotePort, to: &o, cache: &timeCache)
            o.ascii(",\"role\":\"")
            o.text(c.role.rawValue)
            o.ascii("\",\"owner\":")
            if let w = c.owner {
                o.ascii("{\"pid\":")
                o.decimal(UInt64(w.pid))
                o.ascii(",\"comm\":")
                o.jsonString(w.comm)
                o.byte(UInt8(ascii: "}"))
            } else {
                o.ascii("null")
            }
            o.ascii(",\"timeline\":[")
            for (i, span) in c.timeline.enumerated() {
                if i > 0 { o.byte(UInt8(ascii: ",")) }
                o.ascii("{\"state\":\"")
                o.state(span.state)
                o.ascii("\",\"ms\":")
                milliseconds(span.nanoseconds, &o)
                o.byte(UInt8(ascii: "}"))
            }
            o.ascii("],\"connect_ms\":")
            milliseconds(c.connectNanoseconds, &o)
            o.ascii(",\"lifetime_ms\":")
            milliseconds(c.lifetimeNanoseconds, &o)
            o.ascii(",\"closed_by\":\"")
            o.text(c.closedBy.rawValue)
            o.ascii("\",\"time_wait\":")
            o.ascii(c.timeWait ? "true" : "false")
            o.ascii(",\"timewait_state\":")
            if let s = c.timeWaitState {
                o.byte(UInt8(ascii: "\""))
                o.state(s)
                o.byte(UInt8(ascii: "\""))
            } else {
                o.ascii("null")
            }
            o.ascii(",\"bytes_sent\":")
            if let v = c.bytesSent { o.decimal(v) } else { o.ascii("null") }
            o.ascii(",\"bytes_received\":")
            if let v = c.bytesReceived { o.decimal(v) } else { o.ascii("null") }
            o.ascii(",\"retransmits\":")
            if let v = c.retransmissions { o.decimal(UInt64(v)) } else { o.ascii("null") }
            o.ascii(",\"srtt_us\":")
            if let v = c.smoothedRTTMicroseconds { o.decimal(UInt64(v)) } else { o.ascii("null") }
            o.ascii(",\"partial\":")
            o.ascii(c.partial ? "true" : "false")
            o.ascii("}\n")
        }
    }

    /// Milliseconds with microsecond precision, or null (as `appendMilliseconds`).
    @inline(__always)
    static func milliseconds(_ ns: UInt64?, _ o: inout ByteCursor) {
        if let ns {
            o.decimal(ns / 1_000_000)
            o.byte(UInt8(ascii: "."))
            o.decimal(ns % 1_000_000 / 1_000, width: 3)
        } else {
            o.ascii("null")
        }
    }

    /// The same line field by field (for records too long for the cursor's bound).
    static func appendPlain(_ c: ConnectionRecord, to out: inout [UInt8], timeCache: inout RFC3339Cache) {
        appendHeader("connection", time: c.time, to: &out, cache: &timeCache)
        appendIdentity(
            cookie: c.cookie, local: c.local, localPort: c.localPort, remote: c.remote, remotePort: c.remotePort,
            family: c.family, to: &out)
        out.appendASCII(",\"role\":\"")
        out.append(c.role.rawValue)
        out.appendASCII("\",\"owner\":")
        appendOwner(c.owner, to: &out)
        out.appendASCII(",\"timeline\":[")
        for (i, span) in c.timeline.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.appendASCII("{\"state\":\"")
            out.append(span.state.name)
            out.appendASCII("\",\"ms\":")
            appendMilliseconds(span.nanoseconds, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.appendASCII("],\"connect_ms\":")
        appendMilliseconds(c.connectNanoseconds, to: &out)
        out.appendASCII(",\"lifetime_ms\":")
        appendMilliseconds(c.lifetimeNanoseconds, to: &out)
        out.appendASCII(",\"closed_by\":\"")
        out.append(c.closedBy.rawValue)
        out.appendASCII("\",\"time_wait\":")
        out.appendASCII(c.timeWait ? "true" : "false")
        out.appendASCII(",\"timewait_state\":")
        if let s = c.timeWaitState {
            out.append(UInt8(ascii: "\""))
            out.append(s.name)
            out.append(UInt8(ascii: "\""))
        } else {
            out.appendASCII("null")
        }
        out.appendASCII(",\"bytes_sent\":")
        appendOptional(c.bytesSent, to: &out)
        out.appendASCII(",\"bytes_received\":")
        appendOptional(c.bytesReceived, to: &out)
        out.appendASCII(",\"retransmits\":")
        appendOptional(c.retransmissions.map(UInt64.init), to: &out)
        out.appendASCII(",\"srtt_us\":")
        appendOptional(c.smoothedRTTMicroseconds.map(UInt64.init), to: &out)
        out.appendASCII(",\"partial\":")
        out.appendASCII(c.partial ? "true" : "false")
        out.appendASCII("}\n")
    }

    /// One `lingerer` line, newline included.
    public static func append(_ l: LingererRecord, to out: inout [UInt8]) {
        appendHeader("lingerer", time: l.time, to: &out)
        appendIdentity(
            cookie: l.cookie, local: l.local, localPort: l.localPort, remote: l.remote, remotePort: l.remotePort,
            family: l.family, to: &out)
        out.appendASCII(",\"event\":\"")
        out.append(l.event.rawValue)
        out.appendASCII("\",\"holder\":")
        if let h = l.holder {
            out.appendASCII("{\"pid\":")
            out.appendDecimal(UInt64(h.pid))
            out.appendASCII(",\"comm\":")
            out.appendJSONString(h.comm)
            out.appendASCII(",\"fd\":")
            if let fd = h.fd { out.appendDecimal(Int64(fd)) } else { out.appendASCII("null") }
            out.append(UInt8(ascii: "}"))
        } else {
            out.appendASCII("null")
        }
        out.appendASCII(",\"inode\":")
        appendOptional(l.inode, to: &out)
        out.appendASCII(",\"age_s\":")
        out.appendFixed(l.ageNanoseconds, scaleDigits: 9, decimals: 3)
        out.appendASCII(",\"age_is_lower_bound\":")
        out.appendASCII(l.ageIsLowerBound ? "true" : "false")
        out.appendASCII(",\"unread_bytes\":")
        appendOptional(l.unreadBytes, to: &out)
        out.appendASCII("}\n")
    }
}

extension TextLines {
    /// One line per finished connection.
    public func append(_ c: ConnectionRecord, to out: inout [UInt8]) {
        c.time.appendTimeOfDay(utcOffsetSeconds: utcOffsetSeconds, to: &out)
        out.appendASCII(" CONN ")
        out.appendDecimal(c.cookie)
        out.append(UInt8(ascii: " "))
        out.append(c.role.rawValue)
        if let o = c.owner {
            out.append(UInt8(ascii: " "))
            out.append(o.comm)
            out.append(UInt8(ascii: "/"))
            out.appendDecimal(UInt64(o.pid))
        }
        out.append(UInt8(ascii: " "))
        Self.appendEndpoint(c.local, c.localPort, to: &out)
        out.appendASCII(c.role == .server ? " <- " : " -> ")
        Self.appendEndpoint(c.remote, c.remotePort, to: &out)
        out.appendASCII(" [")
        for (i, s) in c.timeline.enumerated() {
            if i > 0 { out.append(UInt8(ascii: " ")) }
            out.append(s.state.name)
            out.append(UInt8(ascii: " "))
            if let ns = s.nanoseconds { out.appendFixed(ns, scaleDigits: 6, decimals: 3) } else { out.append(UInt8(ascii: "?")) }
        }
        out.appendASCII("] ")
        if let ns = c.connectNanoseconds {
            out.appendASCII("connect ")
            out.appendFixed(ns, scaleDigits: 6, decimals: 3)
            out.appendASCII(" ms, ")
        }
        if let ns = c.lifetimeNanoseconds {
            out.appendASCII("life ")
            out.appendFixed(ns, scaleDigits: 6, decimals: 3)
            out.appendASCII(" ms, ")
        }
        out.appendASCII("closed by ")
        out.append(c.closedBy.rawValue)
        if let s = c.timeWaitState {
            out.appendASCII(", timewait ")
            out.append(s.name)
        }
        if let s = c.bytesSent, let r = c.bytesReceived {
            out.appendASCII(", sent ")
            out.appendDecimal(s)
            out.appendASCII(" B, received ")
            out.appendDecimal(r)
            out.appendASCII(" B")
        }
        if let r = c.retransmissions, r > 0 {
            out.appendASCII(", ")
            out.appendDecimal(UInt64(r))
            out.appendASCII(" retransmits")
        }
        if c.partial { out.appendASCII(" (partial)") }
        out.append(UInt8(ascii: "\n"))
    }

    /// A lingerer alert; `color` adds ANSI emphasis (only when writing to a terminal).
    public func append(_ l: LingererRecord, color: Bool, to out: inout [UInt8]) {
        if color { out.appendASCII(l.event == .lingering ? "\u{1b}[1;31m" : "\u{1b}[32m") }
        l.time.appendTimeOfDay(utcOffsetSeconds: utcOffsetSeconds, to: &out)
        switch l.event {
        case .lingering: out.appendASCII(" LINGERER CLOSE_WAIT ")
        case .closed: out.appendASCII(" LINGERER CLOSED after ")
        case .openAtEnd: out.appendASCII(" END OF LOG CLOSE_WAIT ")
        }
        if l.ageIsLowerBound { out.appendASCII(">=") }
        out.appendFixed(l.ageNanoseconds, scaleDigits: 9, decimals: 1)
        out.appendASCII("s ")
        if let h = l.holder {
            out.appendASCII("pid ")
            out.appendDecimal(UInt64(h.pid))
            out.appendASCII(" (")
            out.append(h.comm)
            out.appendASCII(")")
            if let fd = h.fd {
                out.appendASCII(" fd ")
                out.appendDecimal(Int64(fd))
            }
        } else {
            out.appendASCII("holder unknown")
        }
        out.append(UInt8(ascii: " "))
        Self.appendEndpoint(l.local, l.localPort, to: &out)
        out.appendASCII(" <- ")
        Self.appendEndpoint(l.remote, l.remotePort, to: &out)
        out.appendASCII(" cookie ")
        out.appendDecimal(l.cookie)
        if let u = l.unreadBytes {
            out.appendASCII(", unread ")
            out.appendDecimal(u)
            out.appendASCII(" B")
        }
        if color { out.appendASCII("\u{1b}[0m") }
        out.append(UInt8(ascii: "\n"))
    }
}
