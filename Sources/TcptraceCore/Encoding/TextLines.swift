/// Text output for people: one aligned line per transition, like tcpstates' columns but with
/// the socket cookie instead of a kernel pointer, and the socket's owner when known.
public struct TextLines: Sendable {
    /// Offset of local time from UTC, read once at start by the caller.
    public var utcOffsetSeconds: Int64

    public init(utcOffsetSeconds: Int64) { self.utcOffsetSeconds = utcOffsetSeconds }

    /// The column heads of transition lines, from the same declaration as the lines.
    public static let header: String = {
        var t = Transition()
        var heads = ColumnHeads()
        Transition.fields(&t, &heads)
        return "TIME           " + heads.text + "\n"
    }()

    /// One aligned line per transition: time, cookie, endpoints, states, ms in the old state
    /// and the owner (`-` when unknown).
    @inlinable
    public func append(_ t: Transition, to out: inout [UInt8]) {
        var r = t
        appendRecord(&r, to: &out)
    }

    /// The end-of-run summary for people.
    public func appendSummary(_ s: RunSummary, to out: inout [UInt8]) {
        var t = "\n\(s.events) transitions in "
        t += TextLayout.fixed(UInt64(max(0, s.end.nanoseconds - s.start.nanoseconds)), scaleDigits: 9, decimals: 1) + " s\n"
        for (pair, n) in s.transitionCounts.sorted(by: { $0.key < $1.key }) {
            t += "  " + "\(pair.old.name) -> \(pair.new.name)".padded(to: 28) + "\(n)\n"
        }
        t += "lost events: \(s.lost.total) (ring buffer full \(s.lost.ringBufferFull), recursion misses \(s.lost.recursionMisses)"
        t += ", undecodable \(s.lost.undecodable), unseen \(s.lost.unseen))\n"
        t += "\(s.connections) connections closed"
        if s.tableEvictions > 0 { t += ", \(s.tableEvictions) table entries evicted (raise --max-connections)" }
        t += "\n"
        let measured = s.measuredStates
        if !measured.isEmpty {
            t += "time in state (ms)          count        p50        p90        p99        max\n"
            var rows = measured.map { ("  " + $0.state.name, $0.histogram) }
            if s.connectLatency.count > 0 { rows.append(("  connect latency", s.connectLatency)) }
            for (label, h) in rows {
                t += label.padded(to: 24) + "\(h.count)".rightAligned(to: 11)
                for v in [h.p50, h.p90, h.p99, h.max] { t += TextLayout.fixed(v ?? 0, scaleDigits: 6, decimals: 3).rightAligned(to: 11) }
                t += "\n"
            }
        }
        if s.timeWait.total > 0 {
            t += "\(s.timeWait.total) connections closed into timewait sockets (TIME_WAIT, or an orphaned FIN_WAIT2)\n"
            for (e, n) in s.timeWait.top(5) { t += "  \(n)  to \(TextLayout.endpoint(e.remote, e.remotePort))\n" }
        }
        t += churnText(s.churn)
        if let o = s.timeWaitOverflow, o > 0 {
            t += "host-wide, \(o) connections closed without TIME_WAIT during the run: tcp_max_tw_buckets reached (TcpExtTCPTimeWaitOverflow)\n"
        }
        let ranked = s.lingerersRanked
        if !ranked.isEmpty {
            t += "CLOSE_WAIT lingerers by holder:\n"
            for (holder, n) in ranked { t += "  \(n)  pid \(holder.pid) (\(holder.comm))\n" }
        }
        out.append(contentsOf: t.utf8)
    }
}

/// The uppercase field names of a record's shown fields, at the widths its lines use.
struct ColumnHeads: FieldVisitor {
    var text = ""
    var groupStart = 0
    mutating func field<F: FieldFormat>(
        _ name: StaticString, _ value: inout F.Value, _ format: F.Type, text style: TextStyle, required: Bool,
        _ meaning: StaticString
    ) {
        guard style.shown else { return }
        if style.startsGroup { groupStart = text.utf8.count }
        text += style.prefix.description + name.description.uppercased()
        let used = text.utf8.count - groupStart
        if used < style.width { text += String(repeating: " ", count: style.width - used) }
    }
}
