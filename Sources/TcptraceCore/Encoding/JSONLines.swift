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

    /// One line of a declared record (`transition`, `connection`, `lingerer`), newline included.
    @inlinable
    public static func append<R: Record>(_ record: R, to out: inout [UInt8]) {
        var cache = RFC3339Cache()
        var r = record
        append(&r, to: &out, timeCache: &cache)
    }

    /// The same, reusing the formatted second from `timeCache` (the live path).
    @inlinable @inline(__always)
    public static func append<R: Record>(_ record: R, to out: inout [UInt8], timeCache: inout RFC3339Cache) {
        var r = record
        append(&r, to: &out, timeCache: &timeCache)
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
        out.appendASCII(",\"unseen\":")
        out.appendDecimal(s.lost.unseen)
        out.appendASCII(",\"total\":")
        out.appendDecimal(s.lost.total)
        out.appendASCII("},\"kernel\":{\"seen\":")
        out.appendDecimal(s.kernel.seen)
        out.appendASCII(",\"filtered\":")
        out.appendDecimal(s.kernel.filtered)
        out.appendASCII(",\"no_storage\":")
        out.appendDecimal(s.kernel.noStorage)
        out.appendASCII(",\"ring_records\":")
        out.appendDecimal(s.kernel.ringRecords)
        out.appendASCII(",\"nested\":")
        out.appendDecimal(s.kernel.nested)
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
        out.appendASCII("}")
        ChurnSummary.appendJSON(s.churn, to: &out)
        out.appendASCII("}\n")
    }
}
