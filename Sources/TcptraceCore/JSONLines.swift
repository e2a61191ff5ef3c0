/// JSON-lines encoding of the records. Field names and types are a contract (README, "JSON
/// schema"): change them only with a bump of `schemaVersion`.
public enum JSONLines {
    public static let schemaVersion = 1

    static func appendHeader(_ type: StaticString, time: WallTime, to out: inout [UInt8]) {
        var cache = RFC3339Cache()
        appendHeader(type, time: time, to: &out, cache: &cache)
    }

    static func appendHeader(_ type: StaticString, time: WallTime, to out: inout [UInt8], cache: inout RFC3339Cache) {
        out.appendASCII("{\"type\":\"")
        out.appendASCII(type)
        out.appendASCII("\",\"v\":")
        out.appendDecimal(UInt64(schemaVersion))
        out.appendASCII(",\"time\":\"")
        time.appendRFC3339(to: &out, cache: &cache)
        out.append(UInt8(ascii: "\""))
    }

    /// The cursor path's `appendHeader` + `appendIdentity`: `prefix` is `{"type":"…","v":`.
    @inline(__always)
    static func headerAndIdentity(
        _ prefix: StaticString, time: WallTime, cookie: UInt64, family: AddressFamily, local: IPAddress,
        localPort: UInt16, remote: IPAddress, remotePort: UInt16, to c: inout ByteCursor, cache: inout RFC3339Cache
    ) {
        c.ascii(prefix)
        c.decimal(UInt64(schemaVersion))
        c.ascii(",\"time\":\"")
        time.appendRFC3339(to: &c, cache: &cache)
        c.ascii("\",\"cookie\":")
        c.decimal(cookie)
        c.ascii(family == .ipv4 ? ",\"family\":\"ipv4\",\"laddr\":\"" : ",\"family\":\"ipv6\",\"laddr\":\"")
        local.append(to: &c)
        c.ascii("\",\"lport\":")
        c.decimal(UInt64(localPort))
        c.ascii(",\"raddr\":\"")
        remote.append(to: &c)
        c.ascii("\",\"rport\":")
        c.decimal(UInt64(remotePort))
    }

    static func appendIdentity(
        cookie: UInt64, local: IPAddress, localPort: UInt16, remote: IPAddress, remotePort: UInt16,
        family: AddressFamily, to out: inout [UInt8]
    ) {
        out.appendASCII(",\"cookie\":")
        out.appendDecimal(cookie)
        out.appendASCII(family == .ipv4 ? ",\"family\":\"ipv4\",\"laddr\":\"" : ",\"family\":\"ipv6\",\"laddr\":\"")
        local.append(to: &out)
        out.appendASCII("\",\"lport\":")
        out.appendDecimal(UInt64(localPort))
        out.appendASCII(",\"raddr\":\"")
        remote.append(to: &out)
        out.appendASCII("\",\"rport\":")
        out.appendDecimal(UInt64(remotePort))
    }

    static func appendOptional(_ value: UInt64?, to out: inout [UInt8]) {
        if let value { out.appendDecimal(value) } else { out.appendASCII("null") }
    }

    /// Milliseconds with microsecond precision, or null.
    static func appendMilliseconds(_ ns: UInt64?, to out: inout [UInt8]) {
        if let ns { out.appendFixed(ns, scaleDigits: 6, decimals: 3) } else { out.appendASCII("null") }
    }

    static func appendOwner(_ owner: Owner?, to out: inout [UInt8]) {
        guard let owner else {
            out.appendASCII("null")
            return
        }
        out.appendASCII("{\"pid\":")
        out.appendDecimal(UInt64(owner.pid))
        out.appendASCII(",\"comm\":")
        out.appendJSONString(owner.comm)
        out.append(UInt8(ascii: "}"))
    }

    /// events per second with 3 decimals.
    static func appendRate(_ n: UInt64, _ seconds: Double, to out: inout [UInt8]) {
        out.appendFixed(UInt64((Double(n) / seconds * 1000).rounded()), scaleDigits: 3, decimals: 3)
    }

    /// {"count":N,"p50":ms,"p90":ms,"p99":ms,"max":ms}, or null when empty.
    static func appendPercentiles(_ h: DurationHistogram, to out: inout [UInt8]) {
        guard h.count > 0 else {
            out.appendASCII("null")
            return
        }
        out.appendASCII("{\"count\":")
        out.appendDecimal(h.count)
        out.appendASCII(",\"p50\":")
        appendMilliseconds(h.p50, to: &out)
        out.appendASCII(",\"p90\":")
        appendMilliseconds(h.p90, to: &out)
        out.appendASCII(",\"p99\":")
        appendMilliseconds(h.p99, to: &out)
        out.appendASCII(",\"max\":")
        appendMilliseconds(h.max, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// One `transition` line, newline included.
    public static func append(_ t: Transition, to out: inout [UInt8]) {
        var cache = RFC3339Cache()
        append(t, to: &out, timeCache: &cache)
    }

    /// One `transition` line, reusing the formatted second from `timeCache` (the live path).
    /// Written through one cursor: the line's size is bounded by its comm lengths.
    public static func append(_ t: Transition, to out: inout [UInt8], timeCache: inout RFC3339Cache) {
        // 565 bytes is the longest line without the comm strings (IPv6, 20-digit numbers); a
        // comm escapes to at most 6 bytes per byte.
        let maxBytes = 640 + 6 * (t.comm.count + (t.owner?.comm.count ?? 0))
        out.appendThroughCursor(maxBytes: maxBytes) { c in
            headerAndIdentity(
                "{\"type\":\"transition\",\"v\":", time: t.time, cookie: t.cookie, family: t.family, local: t.local,
                localPort: t.localPort, remote: t.remote, remotePort: t.remotePort, to: &c, cache: &timeCache)
            c.ascii(",\"old\":\"")
            c.state(t.old)
            c.ascii("\",\"new\":\"")
            c.state(t.new)
            c.ascii("\",\"ms_in_old\":")
            if let ns = t.nanosecondsInOld {
                c.decimal(ns / 1_000_000)
                c.byte(UInt8(ascii: "."))
                c.decimal(ns % 1_000_000 / 1_000, width: 3)
            } else {
                c.ascii("null")
            }
            c.ascii(",\"pid\":")
            c.decimal(UInt64(t.pid))
            c.ascii(",\"comm\":")
            c.jsonString(t.comm)
            c.ascii(",\"owner\":")
            if let o = t.owner {
                c.ascii("{\"pid\":")
                c.decimal(UInt64(o.pid))
                c.ascii(",\"comm\":")
                c.jsonString(o.comm)
                c.byte(UInt8(ascii: "}"))
            } else {
                c.ascii("null")
            }
            c.ascii(",\"inode\":")
            if let i = t.inode { c.decimal(i) } else { c.ascii("null") }
            c.ascii(",\"rcv_queue\":")
            if let q = t.receiveQueue { c.decimal(UInt64(q)) } else { c.ascii("null") }
            c.ascii(",\"tcp\":")
            if let k = t.counters {
                c.ascii("{\"bytes_acked\":")
                c.decimal(k.bytesAcked)
                c.ascii(",\"bytes_received\":")
                c.decimal(k.bytesReceived)
                c.ascii(",\"retransmits\":")
                c.decimal(UInt64(k.totalRetransmissions))
                c.ascii(",\"srtt_us\":")
                c.decimal(UInt64(k.smoothedRTTMicroseconds))
                c.byte(UInt8(ascii: "}"))
            } else {
                c.ascii("null")
            }
            c.ascii("}\n")
        }
    }

    /// The same line field by field (the reference the cursor path is tested against).
    static func appendPlain(_ t: Transition, to out: inout [UInt8], timeCache: inout RFC3339Cache) {
        appendHeader("transition", time: t.time, to: &out, cache: &timeCache)
        appendIdentity(
            cookie: t.cookie, local: t.local, localPort: t.localPort, remote: t.remote,
            remotePort: t.remotePort, family: t.family, to: &out)
        out.appendASCII(",\"old\":\"")
        out.append(t.old.name)
        out.appendASCII("\",\"new\":\"")
        out.append(t.new.name)
        out.appendASCII("\",\"ms_in_old\":")
        appendMilliseconds(t.nanosecondsInOld, to: &out)
        out.appendASCII(",\"pid\":")
        out.appendDecimal(UInt64(t.pid))
        out.appendASCII(",\"comm\":")
        out.appendJSONString(t.comm)
        out.appendASCII(",\"owner\":")
        appendOwner(t.owner, to: &out)
        out.appendASCII(",\"inode\":")
        appendOptional(t.inode, to: &out)
        out.appendASCII(",\"rcv_queue\":")
        appendOptional(t.receiveQueue.map(UInt64.init), to: &out)
        out.appendASCII(",\"tcp\":")
        if let c = t.counters {
            out.appendASCII("{\"bytes_acked\":")
            out.appendDecimal(c.bytesAcked)
            out.appendASCII(",\"bytes_received\":")
            out.appendDecimal(c.bytesReceived)
            out.appendASCII(",\"retransmits\":")
            out.appendDecimal(UInt64(c.totalRetransmissions))
            out.appendASCII(",\"srtt_us\":")
            out.appendDecimal(UInt64(c.smoothedRTTMicroseconds))
            out.append(UInt8(ascii: "}"))
        } else {
            out.appendASCII("null")
        }
        out.appendASCII("}\n")
    }

    /// The final `summary` line, newline included.
    public static func append(_ s: RunSummary, to out: inout [UInt8]) {
        appendHeader("summary", time: s.end, to: &out)
        out.appendASCII(",\"duration_s\":")
        out.appendFixed(UInt64(max(0, s.end.nanoseconds - s.start.nanoseconds)), scaleDigits: 9, decimals: 3)
        out.appendASCII(",\"events\":")
        out.appendDecimal(s.events)
        out.appendASCII(",\"transitions\":{")
        var first = true
        for (pair, n) in s.transitionCounts.sorted(by: { $0.key < $1.key }) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(pair.old.name)
            out.appendASCII("->")
            out.append(pair.new.name)
            out.appendASCII("\":")
            out.appendDecimal(n)
        }
        out.appendASCII("},\"lost\":{\"ringbuf_full\":")
        out.appendDecimal(s.lost.ringBufferFull)
        out.appendASCII(",\"recursion_misses\":")
        out.appendDecimal(s.lost.recursionMisses)
        out.appendASCII(",\"undecodable\":")
        out.appendDecimal(s.lost.undecodable)
        out.appendASCII(",\"total\":")
        out.appendDecimal(s.lost.total)
        out.appendASCII("},\"kernel\":{\"seen\":")
        out.appendDecimal(s.kernel.seen)
        out.appendASCII(",\"filtered\":")
        out.appendDecimal(s.kernel.filtered)
        out.appendASCII(",\"no_storage\":")
        out.appendDecimal(s.kernel.noStorage)
        out.appendASCII("},\"connections\":")
        out.appendDecimal(s.connections)
        out.appendASCII(",\"lingerers\":{\"total\":")
        out.appendDecimal(s.lingerersByHolder.values.reduce(0, +))
        out.appendASCII(",\"by_holder\":[")
        for (i, (holder, n)) in s.lingerersRanked.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.appendASCII("{\"pid\":")
            out.appendDecimal(UInt64(holder.pid))
            out.appendASCII(",\"comm\":")
            out.appendJSONString(holder.comm)
            out.appendASCII(",\"count\":")
            out.appendDecimal(n)
            out.append(UInt8(ascii: "}"))
        }
        out.appendASCII("]},\"table_evictions\":")
        out.appendDecimal(s.tableEvictions)
        out.appendASCII(",\"open_connections\":")
        out.appendDecimal(s.openConnections)
        out.appendASCII(",\"vanished_connections\":")
        out.appendDecimal(s.vanishedConnections)
        out.appendASCII(",\"durations_ms\":{")
        for (i, m) in s.measuredStates.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out.append(m.state.name)
            out.appendASCII("\":")
            appendPercentiles(m.histogram, to: &out)
        }
        out.appendASCII("},\"connect_latency_ms\":")
        appendPercentiles(s.connectLatency, to: &out)
        let seconds = Double(max(1, s.end.nanoseconds - s.start.nanoseconds)) / 1e9
        out.appendASCII(",\"time_wait\":{\"total\":")
        out.appendDecimal(s.timeWait.total)
        out.appendASCII(",\"per_s\":")
        appendRate(s.timeWait.total, seconds, to: &out)
        out.appendASCII(",\"top\":[")
        for (i, (e, n)) in s.timeWait.top(10).enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.appendASCII("{\"raddr\":\"")
            e.remote.append(to: &out)
            out.appendASCII("\",\"rport\":")
            out.appendDecimal(UInt64(e.remotePort))
            out.appendASCII(",\"count\":")
            out.appendDecimal(n)
            out.appendASCII(",\"per_s\":")
            appendRate(n, seconds, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.appendASCII("],\"overflow\":")
        appendOptional(s.timeWaitOverflow, to: &out)
        out.appendASCII("}}\n")
    }
}
