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
        let ls = lines(s)
        let text = terminal ? "\u{1b}[H" + ls.map { $0 + "\u{1b}[K" }.joined(separator: "\r\n") + "\u{1b}[J" : ls.map { $0 + "\n" }.joined() + "\n"
        return Array(text.utf8)
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
        fixed += findingLines(s)
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
            out.append(Line(text: "  SOCKETS  CAUSE         PID     COMM             OLDEST    TREND     ENDPOINT                       OPENER", style: .heads))
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
        let time = String(s.time.timeOfDay(utcOffsetSeconds: utcOffsetSeconds).dropLast(7))  // .ffffff
        let t = "tcptrace-bpf top  \(time)  up \(Self.duration(s.uptimeNanoseconds))  \(Self.rate(s.eventsPerSecond)) transitions/s  lost \(s.lost.total)  q: quit"
        return Line(text: t, style: .bar)
    }

    /// The open findings above info, most severe first (at most 3, then how many more).
    func findingLines(_ s: TopSnapshot) -> [Line] {
        let alarming = s.findings.filter { $0.severity > .info }
        var out = alarming.prefix(3).map { f in
            Line(text: "\(f.severity == .critical ? "CRITICAL" : "WARNING") \(f.kind.rawValue): \(f.title)", style: f.severity == .critical ? .alert : .leak)
        }
        if alarming.count > 3 { out.append(Line(text: "  and \(alarming.count - 3) more findings (tcptrace-bpf diagnose)")) }
        return out
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
        let at = c.time.timeOfDay(utcOffsetSeconds: utcOffsetSeconds).dropLast(7)
        var out = [Line(text: "SOCKETS NOW  \(c.total) TCP sockets (sock_diag at \(at))", style: .title)]
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
            let n = Self.rate(r.perSecond)
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
        var t = "CONNECT LATENCY  "
        if s.intervalNanoseconds > 0 { t += "last \(Self.duration(s.intervalNanoseconds)): \(Self.percentiles(s.recentConnectLatency))   " }
        t += "since start: " + Self.percentiles(s.connectLatency)
        return Line(text: t, style: .title)
    }

    static func percentiles(_ h: DurationHistogram) -> String {
        guard let p50 = h.p50, let p99 = h.p99 else { return "none" }
        let ms = { (v: UInt64) in TextLayout.fixed(v, scaleDigits: 6, decimals: 3) }
        return "p50 \(ms(p50)) ms  p99 \(ms(p99)) ms  (\(h.count))"
    }

    func lingererTitle(_ s: TopSnapshot) -> Line {
        var t = "CLOSE_WAIT LINGERERS  \(s.lingerers.count) in CLOSE_WAIT over \(Self.duration(s.closeWaitThresholdNanoseconds))"
        let by = s.lingerersByHolder
        if !by.isEmpty {
            t += "  by holder:"
            for (holder, n) in by.prefix(5) { t += " \(Self.comm(holder.comm))[\(holder.pid)] \(n)" }
            if by.count > 5 { t += " ..." }
        }
        return Line(text: t, style: s.lingerers.isEmpty ? .title : .alert)
    }

    /// One leak group: size, cause, holder, endpoint, oldest age, trend and opener.
    func leakRow(_ g: LeakRecord) -> Line {
        var t = "  " + Self.pad("\(g.sockets)", to: 9) + Self.pad(g.cause.rawValue, to: 14)
        t += Self.pad(g.holder.map { "\($0.pid)" } ?? "?", to: 8) + Self.pad(g.holder.map { Self.comm($0.comm) } ?? "?", to: 17)
        // The short columns first: at 80 columns the age and trend still show, the endpoint is cut.
        t += Self.pad((g.ageIsLowerBound ? ">" : "") + Self.duration(g.oldestAgeNanoseconds), to: 10)
        t += Self.pad(g.trend.rawValue, to: 10)
        t += Self.pad((g.role == .client ? "-> " : "on ") + TextLayout.endpoint(g.address, g.port), to: 31) + (g.opener ?? "")
        return Line(text: t, style: .leak)
    }

    func lingererRow(_ l: LingererRecord) -> Line {
        var t = "  " + Self.pad((l.ageIsLowerBound ? ">" : "") + Self.duration(l.ageNanoseconds), to: 10)
        if let h = l.holder {
            t += Self.pad("\(h.process.pid)", to: 8) + Self.pad(Self.comm(h.process.comm), to: 16)
            t += Self.pad(h.fd.map { "\($0)" } ?? "-", to: 4, right: true)
        } else {
            t += Self.pad("?", to: 8) + Self.pad("?", to: 16) + Self.pad("-", to: 4, right: true)
        }
        t += "  " + Self.pad(TextLayout.endpoint(l.identity.local, l.identity.localPort), to: 23)
        t += Self.pad(TextLayout.endpoint(l.identity.remote, l.identity.remotePort), to: 22)
        t += l.unreadBytes.map { "\($0)" } ?? "-"
        return Line(text: t, style: .leak)
    }

    func timeWaitTitle(_ s: TopSnapshot) -> Line {
        var t = "TIME_WAIT DESTINATIONS  \(s.timeWaitTotal) connections closed into TIME_WAIT since start"
        if s.intervalNanoseconds > 0 { t += ", \(Self.rate(s.timeWaitPerSecond))/s now" }
        return Line(text: t, style: .title)
    }

    func destinationRow(_ d: TopSnapshot.Destination) -> Line {
        let t = Self.pad("\(d.count)", to: 16, right: true) + Self.pad(Self.rate(d.perSecond), to: 11, right: true)
        return Line(text: t + "  " + TextLayout.endpoint(d.endpoint.remote, d.endpoint.remotePort))
    }

    /// `field` padded with spaces to `width` (on the left when `right`), then one space when it
    /// filled it.
    static func pad(_ field: String, to width: Int, right: Bool = false) -> String {
        if right { return field.rightAligned(to: width) }
        return field.utf8.count >= width ? field + " " : field.padded(to: width)
    }

    /// Printable ASCII only: other bytes (controls, UTF-8 sequences) are `?`, one column each.
    static func comm(_ c: CommName) -> String {
        String(decoding: c.description.utf8.map { $0 >= 0x20 && $0 < 0x7f ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }

    /// 0.4, 12.5, 340 (one decimal below 100).
    static func rate(_ r: Double) -> String {
        guard r.isFinite, r > 0 else { return "0" }
        return r < 100 ? TextLayout.fixed(UInt64((r * 10).rounded()), scaleDigits: 1, decimals: 1) : "\(UInt64(r.rounded()))"
    }

    /// 850ms, 4.5s, 12s, 4m05s, 3h07m, 2d04h.
    static func duration(_ ns: UInt64) -> String {
        let s = ns / 1_000_000_000
        if ns < 1_000_000_000 { return "\(ns / 1_000_000)ms" }
        if s < 60 { return TextLayout.fixed(ns / 100_000_000, scaleDigits: 1, decimals: s < 10 ? 1 : 0) + "s" }
        let (big, small, units) =
            s < 3600 ? (s / 60, s % 60, ("m", "s")) : s < 86_400 ? (s / 3600, s / 60 % 60, ("h", "m")) : (s / 86_400, s / 3600 % 24, ("d", "h"))
        return "\(big)\(units.0)\(TextLayout.zeroPadded(small, 2))\(units.1)"
    }
}
