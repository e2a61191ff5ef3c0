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

    /// 127.0.0.1:80 or [::1]:80
    public static func appendEndpoint(_ a: IPAddress, _ port: UInt16, to out: inout [UInt8]) {
        if a.family == .ipv6 { out.append(UInt8(ascii: "[")) }
        a.append(to: &out)
        if a.family == .ipv6 { out.append(UInt8(ascii: "]")) }
        out.append(UInt8(ascii: ":"))
        out.appendDecimal(UInt64(port))
    }

    private func appendPadded(to out: inout [UInt8], width: Int, _ body: (inout [UInt8]) -> Void) {
        let start = out.count
        body(&out)
        let n = out.count - start
        if n < width { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width - n)) }
    }

    private func appendRightAligned(to out: inout [UInt8], width: Int, _ body: (inout [UInt8]) -> Void) {
        var field: [UInt8] = []
        body(&field)
        if field.count < width { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width - field.count)) }
        out.append(contentsOf: field)
    }

    /// A comm padded with spaces to `width` bytes. Control characters would break the line:
    /// they are shown as `?` (they are single bytes in UTF-8, never part of another character).
    static func appendSanitized(_ s: CommName, paddedTo width: Int, to out: inout [UInt8]) {
        s.withUTF8 { u in
            for b in u { out.append(b < 0x20 || b == 0x7f ? UInt8(ascii: "?") : b) }
        }
        if s.count < width { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width - s.count)) }
    }

    /// The end-of-run summary for people.
    public func appendSummary(_ s: RunSummary, to out: inout [UInt8]) {
        out.appendASCII("\n")
        out.appendDecimal(s.events)
        out.appendASCII(" transitions in ")
        out.appendFixed(UInt64(max(0, s.end.nanoseconds - s.start.nanoseconds)), scaleDigits: 9, decimals: 1)
        out.appendASCII(" s\n")
        for (pair, n) in s.transitionCounts.sorted(by: { $0.key < $1.key }) {
            out.appendASCII("  ")
            out.append("\(pair.old.name) -> \(pair.new.name)", paddedTo: 28)
            out.appendDecimal(n)
            out.append(UInt8(ascii: "\n"))
        }
        out.appendASCII("lost events: ")
        out.appendDecimal(s.lost.total)
        out.appendASCII(" (ring buffer full ")
        out.appendDecimal(s.lost.ringBufferFull)
        out.appendASCII(", recursion misses ")
        out.appendDecimal(s.lost.recursionMisses)
        out.appendASCII(", undecodable ")
        out.appendDecimal(s.lost.undecodable)
        out.appendASCII(", unseen ")
        out.appendDecimal(s.lost.unseen)
        out.appendASCII(")\n")
        out.appendDecimal(s.connections)
        out.appendASCII(" connections closed")
        if s.tableEvictions > 0 {
            out.appendASCII(", ")
            out.appendDecimal(s.tableEvictions)
            out.appendASCII(" table entries evicted (raise --max-connections)")
        }
        out.append(UInt8(ascii: "\n"))
        let measured = s.measuredStates
        if !measured.isEmpty {
            out.appendASCII("time in state (ms)          count        p50        p90        p99        max\n")
            var rows = measured.map { ("  " + $0.state.name, $0.histogram) }
            if s.connectLatency.count > 0 { rows.append(("  connect latency", s.connectLatency)) }
            for (label, h) in rows {
                out.append(label, paddedTo: 24)
                appendRightAligned(to: &out, width: 11) { $0.appendDecimal(h.count) }
                for v in [h.p50, h.p90, h.p99, h.max] {
                    appendRightAligned(to: &out, width: 11) { $0.appendFixed(v ?? 0, scaleDigits: 6, decimals: 3) }
                }
                out.append(UInt8(ascii: "\n"))
            }
        }
        if s.timeWait.total > 0 {
            out.appendDecimal(s.timeWait.total)
            out.appendASCII(" connections closed into timewait sockets (TIME_WAIT, or an orphaned FIN_WAIT2)\n")
            for (e, n) in s.timeWait.top(5) {
                out.appendASCII("  ")
                out.appendDecimal(n)
                out.appendASCII("  to ")
                Self.appendEndpoint(e.remote, e.remotePort, to: &out)
                out.append(UInt8(ascii: "\n"))
            }
        }
        appendChurn(s.churn, to: &out)
        if let o = s.timeWaitOverflow, o > 0 {
            out.appendASCII("host-wide, ")
            out.appendDecimal(o)
            out.appendASCII(" connections closed without TIME_WAIT during the run: tcp_max_tw_buckets reached (TcpExtTCPTimeWaitOverflow)\n")
        }
        let ranked = s.lingerersRanked
        if !ranked.isEmpty {
            out.appendASCII("CLOSE_WAIT lingerers by holder:\n")
            for (holder, n) in ranked {
                out.appendASCII("  ")
                out.appendDecimal(n)
                out.appendASCII("  pid ")
                out.appendDecimal(UInt64(holder.pid))
                out.appendASCII(" (")
                out.append(holder.comm)
                out.appendASCII(")\n")
            }
        }
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
