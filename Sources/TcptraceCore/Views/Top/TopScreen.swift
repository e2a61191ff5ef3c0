/// `top`'s frame: a snapshot laid out in lines that fit `width` columns and `height` rows,
/// with or without colour. Pure: the terminal's size comes in, bytes go out.
///
/// Every character drawn is ASCII (command names' other bytes become `?`), so one byte is one
/// column and a line is cut anywhere without breaking a character or an escape sequence
/// (colour wraps whole lines only).
public struct TopScreen: Sendable {
    public var width: Int
    /// nil: no limit (frames written to a file or a pipe).
    public var height: Int?
    public var color: Bool
    /// Offset of local time from UTC, for the clock.
    public var utcOffsetSeconds: Int64

    /// Rows listed per list when `height` is nil.
    public static let unlimitedRows = 10
    /// From this height on, sections on a screen are separated by a blank line.
    static let spaciousHeight = 24

    public init(width: Int, height: Int?, color: Bool, utcOffsetSeconds: Int64) {
        self.width = max(width, 1)
        self.height = height.map { max($0, 1) }
        self.color = color
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    enum Style {
        case plain, bar, title, heads, alert, leak
        var sgr: String {
            switch self {
            case .plain: return ""
            case .bar: return "\u{1b}[7m"
            case .title: return "\u{1b}[1m"
            case .heads: return "\u{1b}[2m"
            case .alert: return "\u{1b}[1;37;41m"
            case .leak: return "\u{1b}[31m"
            }
        }
    }

    struct Line {
        var text: String
        var style: Style = .plain
    }

    /// The frame's lines, each at most `width` columns, at most `height` of them.
    public func lines(_ s: TopSnapshot) -> [String] {
        layout(s).map(render)
    }

    /// The bytes that draw a frame. On a terminal: from the top left, each line cleared to its
    /// end and the rest of the screen below cleared, with no newline after the last row (so
    /// the screen never scrolls). Elsewhere: the lines, then a blank line.
    public func frame(_ s: TopSnapshot, terminal: Bool) -> [UInt8] {
        var out: [UInt8] = []
        let ls = lines(s)
        if terminal {
            out.appendASCII("\u{1b}[H")
            for (i, l) in ls.enumerated() {
                if i > 0 { out.appendASCII("\r\n") }
                out.append(l)
                out.appendASCII("\u{1b}[K")
            }
            out.appendASCII("\u{1b}[J")
        } else {
            for l in ls {
                out.append(l)
                out.append(UInt8(ascii: "\n"))
            }
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    func render(_ l: Line) -> String {
        var text = l.text.utf8.count > width ? String(decoding: l.text.utf8.prefix(width), as: UTF8.self) : l.text
        while text.hasSuffix(" ") { text.removeLast() }
        if color && l.style == .bar && text.utf8.count < width { text += String(repeating: " ", count: width - text.utf8.count) }
        guard color && l.style != .plain else { return text }
        return l.style.sgr + text + "\u{1b}[0m"
    }

    func layout(_ s: TopSnapshot) -> [Line] {
        var fixed = [header(s)]
        if s.lost.total > 0 { fixed.append(lostLine(s)) }
        fixed += socketLines(s) + transitionLines(s) + [latencyLine(s)]

        let grouped = !s.leakGroups.isEmpty
        let leaks = grouped ? s.leakGroups.map(leakRow) : s.lingerers.map(lingererRow)
        let waits = s.timeWaitTop.map(destinationRow) + makerLines(s)
        // No blank lines in a frame without a height: there a blank line ends the frame.
        let spacious = height.map { $0 >= Self.spaciousHeight } ?? false
        let gap: [Line] = spacious ? [Line(text: "")] : []
        // Two titles and two column heads, then rows shared between the lists.
        let chrome = fixed.count + 2 * gap.count + 4
        let (leakRows, waitRows): (Int, Int)
        if let height {
            let room = max(0, height - chrome)
            let forLeaks = min(max(1, leaks.count), max(room / 2, room - max(1, waits.count)))
            leakRows = forLeaks
            waitRows = max(0, room - forLeaks)
        } else {
            (leakRows, waitRows) = (Self.unlimitedRows, Self.unlimitedRows)
        }

        var out = fixed + gap
        out.append(lingererTitle(s))
        if grouped {
            out.append(Line(text: "  SOCKETS  CAUSE         PID     COMM             ENDPOINT                       OLDEST    TREND     OPENER", style: .heads))
        } else {
            out.append(Line(text: "  AGE       PID     COMM              FD  LOCAL                  REMOTE                 UNREAD", style: .heads))
        }
        out += Self.listed(leaks, rows: leakRows, none: "  none: no socket has been in CLOSE_WAIT longer than the threshold")
        out += gap
        out.append(timeWaitTitle(s))
        out.append(Line(text: "     SINCE START      NOW/S  DESTINATION", style: .heads))
        out += Self.listed(waits, rows: waitRows, none: "  none yet")
        if let height, out.count > height { out.removeLast(out.count - height) }
        return out
    }

    /// At most `rows` rows; when some do not fit, the last row says how many are left out.
    static func listed(_ items: [Line], rows: Int, none: String) -> [Line] {
        guard rows > 0 else { return [] }
        if items.isEmpty { return [Line(text: none)] }
        if items.count <= rows { return items }
        return items.prefix(rows - 1) + [Line(text: "  ... \(items.count - rows + 1) more")]
    }

    func header(_ s: TopSnapshot) -> Line {
        var b: [UInt8] = []
        b.appendASCII("tcptrace-bpf top  ")
        s.time.appendTimeOfDay(utcOffsetSeconds: utcOffsetSeconds, to: &b)
        b.removeLast(7)  // .ffffff
        b.appendASCII("  up ")
        Self.appendDuration(s.uptimeNanoseconds, to: &b)
        b.appendASCII("  ")
        Self.appendRate(s.eventsPerSecond, to: &b)
        b.appendASCII(" transitions/s  lost ")
        b.appendDecimal(s.lost.total)
        b.appendASCII("  q: quit")
        return Line(text: String(decoding: b, as: UTF8.self), style: .bar)
    }

    func lostLine(_ s: TopSnapshot) -> Line {
        var t = "LOST EVENTS \(s.lost.total) (\(s.recentlyLost) in the last interval):"
        if s.lost.ringBufferFull > 0 { t += " ring buffer full \(s.lost.ringBufferFull) (raise --ring-buffer-size)" }
        if s.lost.recursionMisses > 0 { t += " recursion misses \(s.lost.recursionMisses)" }
        if s.lost.undecodable > 0 { t += " undecodable \(s.lost.undecodable)" }
        return Line(text: color ? t : "!! " + t, style: .alert)
    }

    /// Cells of `cell` columns, as many per line as fit.
    func cells(_ items: [String], width cell: Int) -> [String] {
        let perLine = max(1, (width - 2) / cell)
        var lines: [String] = []
        var i = 0
        while i < items.count {
            let row = items[i..<min(items.count, i + perLine)].map { $0 + String(repeating: " ", count: max(0, cell - $0.utf8.count)) }
            var line = "  " + row.joined()
            while line.hasSuffix(" ") { line.removeLast() }
            lines.append(line)
            i += perLine
        }
        return lines
    }

    func socketLines(_ s: TopSnapshot) -> [Line] {
        guard let c = s.census else { return [Line(text: "SOCKETS NOW  (first census pending)", style: .title)] }
        var at: [UInt8] = []
        c.time.appendTimeOfDay(utcOffsetSeconds: utcOffsetSeconds, to: &at)
        var out = [Line(text: "SOCKETS NOW  \(c.total) TCP sockets (sock_diag at \(String(decoding: at.dropLast(7), as: UTF8.self)))", style: .title)]
        let items = c.listedStates.map { st -> String in
            let n = String(c.count(st))
            return st.name + String(repeating: " ", count: max(1, 18 - st.name.utf8.count - n.utf8.count)) + n
        }
        out += cells(items, width: 20).map { Line(text: $0) }
        return out
    }

    func transitionLines(_ s: TopSnapshot) -> [Line] {
        var out = [Line(text: "TRANSITIONS/S  \(s.events) since start", style: .title)]
        guard s.intervalNanoseconds > 0 else { return out + [Line(text: "  (rates from the second frame on)")] }
        guard !s.transitionRates.isEmpty else { return out + [Line(text: "  none in the last interval")] }
        let items = s.transitionRates.map { r -> String in
            var b: [UInt8] = []
            Self.appendRate(r.perSecond, to: &b)
            let n = String(decoding: b, as: UTF8.self)
            let name = "\(r.pair.old.name)>\(r.pair.new.name)"
            return name + String(repeating: " ", count: max(1, 30 - name.utf8.count - n.utf8.count)) + n
        }
        // At most two lines: the busiest transitions.
        let perLine = max(1, (width - 2) / 32)
        let shown = min(items.count, 2 * perLine)
        if shown < items.count { out[0].text += " (busiest \(shown) of \(items.count) shown)" }
        out += cells(Array(items.prefix(shown)), width: 32).map { Line(text: $0) }
        return out
    }

    func latencyLine(_ s: TopSnapshot) -> Line {
        var b: [UInt8] = []
        b.appendASCII("CONNECT LATENCY  ")
        if s.intervalNanoseconds > 0 {
            b.appendASCII("last ")
            Self.appendDuration(s.intervalNanoseconds, to: &b)
            b.appendASCII(": ")
            Self.appendPercentiles(s.recentConnectLatency, to: &b)
            b.appendASCII("   ")
        }
        b.appendASCII("since start: ")
        Self.appendPercentiles(s.connectLatency, to: &b)
        return Line(text: String(decoding: b, as: UTF8.self), style: .title)
    }

    static func appendPercentiles(_ h: DurationHistogram, to b: inout [UInt8]) {
        guard let p50 = h.p50, let p99 = h.p99 else {
            b.appendASCII("none")
            return
        }
        b.appendASCII("p50 ")
        b.appendFixed(p50, scaleDigits: 6, decimals: 3)
        b.appendASCII(" ms  p99 ")
        b.appendFixed(p99, scaleDigits: 6, decimals: 3)
        b.appendASCII(" ms  (")
        b.appendDecimal(h.count)
        b.appendASCII(")")
    }

    func lingererTitle(_ s: TopSnapshot) -> Line {
        var b: [UInt8] = []
        b.appendASCII("CLOSE_WAIT LINGERERS  ")
        b.appendDecimal(UInt64(s.lingerers.count))
        b.appendASCII(" in CLOSE_WAIT over ")
        Self.appendDuration(s.closeWaitThresholdNanoseconds, to: &b)
        let by = s.lingerersByHolder
        if !by.isEmpty {
            b.appendASCII("  by holder:")
            for (holder, n) in by.prefix(5) {
                b.appendASCII(" ")
                Self.appendComm(holder.comm, to: &b)
                b.appendASCII("[")
                b.appendDecimal(UInt64(holder.pid))
                b.appendASCII("] ")
                b.appendDecimal(UInt64(n))
            }
            if by.count > 5 { b.appendASCII(" ...") }
        }
        return Line(text: String(decoding: b, as: UTF8.self), style: s.lingerers.isEmpty ? .title : .alert)
    }

    /// One leak group: size, cause, holder, endpoint, oldest age, trend and opener.
    func leakRow(_ g: LeakRecord) -> Line {
        var b: [UInt8] = []
        b.appendASCII("  ")
        Self.pad(&b, to: 9) { $0.appendDecimal(g.sockets) }
        Self.pad(&b, to: 14) { $0.append(g.cause.rawValue) }
        Self.pad(&b, to: 8) { b in if let h = g.holder { b.appendDecimal(UInt64(h.pid)) } else { b.appendASCII("?") } }
        Self.pad(&b, to: 17) { b in if let h = g.holder { Self.appendComm(h.comm, to: &b) } else { b.appendASCII("?") } }
        Self.pad(&b, to: 31) { b in
            b.append(g.role == .client ? "-> " : "on ")
            TextLines.appendEndpoint(g.address, g.port, to: &b)
        }
        Self.pad(&b, to: 10) { b in
            if g.ageIsLowerBound { b.appendASCII(">") }
            Self.appendDuration(g.oldestAgeNanoseconds, to: &b)
        }
        Self.pad(&b, to: 10) { $0.append(g.trend.rawValue) }
        if let o = g.opener { b.append(o) }
        return Line(text: String(decoding: b, as: UTF8.self), style: .leak)
    }

    func lingererRow(_ l: LingererRecord) -> Line {
        var b: [UInt8] = []
        b.appendASCII("  ")
        Self.pad(&b, to: 10) { b in
            if l.ageIsLowerBound { b.appendASCII(">") }
            Self.appendDuration(l.ageNanoseconds, to: &b)
        }
        if let h = l.holder {
            Self.pad(&b, to: 8) { $0.appendDecimal(UInt64(h.process.pid)) }
            Self.pad(&b, to: 16) { Self.appendComm(h.process.comm, to: &$0) }
            Self.pad(&b, to: 4, right: true) { b in
                if let fd = h.fd { b.appendDecimal(Int64(fd)) } else { b.appendASCII("-") }
            }
        } else {
            Self.pad(&b, to: 8) { $0.appendASCII("?") }
            Self.pad(&b, to: 16) { $0.appendASCII("?") }
            Self.pad(&b, to: 4, right: true) { $0.appendASCII("-") }
        }
        b.appendASCII("  ")
        Self.pad(&b, to: 23) { TextLines.appendEndpoint(l.identity.local, l.identity.localPort, to: &$0) }
        Self.pad(&b, to: 22) { TextLines.appendEndpoint(l.identity.remote, l.identity.remotePort, to: &$0) }
        if let u = l.unreadBytes { b.appendDecimal(u) } else { b.appendASCII("-") }
        return Line(text: String(decoding: b, as: UTF8.self), style: .leak)
    }

    func timeWaitTitle(_ s: TopSnapshot) -> Line {
        var b: [UInt8] = []
        b.appendASCII("TIME_WAIT DESTINATIONS  ")
        b.appendDecimal(s.timeWaitTotal)
        b.appendASCII(" connections closed into TIME_WAIT since start")
        if s.intervalNanoseconds > 0 {
            b.appendASCII(", ")
            Self.appendRate(s.timeWaitPerSecond, to: &b)
            b.appendASCII("/s now")
        }
        return Line(text: String(decoding: b, as: UTF8.self), style: .title)
    }

    func destinationRow(_ d: TopSnapshot.Destination) -> Line {
        var b: [UInt8] = []
        Self.pad(&b, to: 16, right: true) { $0.appendDecimal(d.count) }
        Self.pad(&b, to: 11, right: true) { Self.appendRate(d.perSecond, to: &$0) }
        b.appendASCII("  ")
        TextLines.appendEndpoint(d.endpoint.remote, d.endpoint.remotePort, to: &b)
        return Line(text: String(decoding: b, as: UTF8.self))
    }

    /// `body`'s text padded with spaces to `width` (on the left when `right`), then one space
    /// when it filled it.
    static func pad(_ b: inout [UInt8], to width: Int, right: Bool = false, _ body: (inout [UInt8]) -> Void) {
        var field: [UInt8] = []
        body(&field)
        let fill = repeatElement(UInt8(ascii: " "), count: max(0, width - field.count))
        if right { b.append(contentsOf: fill) }
        b.append(contentsOf: field)
        if !right { b.append(contentsOf: fill) }
        if field.count >= width && !right { b.append(UInt8(ascii: " ")) }
    }

    /// Printable ASCII only: other bytes (controls, UTF-8 sequences) are `?`, one column each.
    static func appendComm(_ c: CommName, to b: inout [UInt8]) {
        for u in c.description.utf8 { b.append(u >= 0x20 && u < 0x7f ? u : UInt8(ascii: "?")) }
    }

    /// 0.4, 12.5, 340 (one decimal below 100).
    static func appendRate(_ r: Double, to b: inout [UInt8]) {
        guard r.isFinite, r > 0 else { return b.appendASCII("0") }
        if r < 100 {
            b.appendFixed(UInt64((r * 10).rounded()), scaleDigits: 1, decimals: 1)
        } else {
            b.appendDecimal(UInt64(r.rounded()))
        }
    }

    /// 850ms, 4.5s, 12s, 4m05s, 3h07m, 2d04h.
    static func appendDuration(_ ns: UInt64, to b: inout [UInt8]) {
        let s = ns / 1_000_000_000
        if ns < 1_000_000_000 {
            b.appendDecimal(ns / 1_000_000)
            b.appendASCII("ms")
        } else if s < 60 {
            b.appendFixed(ns / 100_000_000, scaleDigits: 1, decimals: s < 10 ? 1 : 0)
            b.appendASCII("s")
        } else {
            let (big, small, units): (UInt64, UInt64, (StaticString, StaticString)) =
                s < 3600 ? (s / 60, s % 60, ("m", "s")) : s < 86_400 ? (s / 3600, s / 60 % 60, ("h", "m")) : (s / 86_400, s / 3600 % 24, ("d", "h"))
            b.appendDecimal(big)
            b.appendASCII(units.0)
            b.appendDecimal(small, width: 2)
            b.appendASCII(units.1)
        }
    }
}
