/// `report --html`: one self-contained page (inline CSS and SVG, no script, no fetches), written
/// as XHTML-compatible markup so that any XML parser can check it. Everything that comes from
/// the log is escaped.
extension HTMLReportModel {
    /// Colours by state, the same in every chart (Tableau 10, distinguishable in print).
    public static func colour(_ s: TCPState) -> String {
        switch s {
        case .listen: return "#bab0ac"
        case .established: return "#4e79a7"
        case .synSent: return "#f28e2b"
        case .synRecv: return "#edc948"
        case .finWait1: return "#76b7b2"
        case .finWait2: return "#59a14f"
        case .closing: return "#9c755f"
        case .lastAck: return "#ff9da7"
        case .timeWait: return "#b07aa1"
        case .closeWait: return "#e15759"
        default: return "#555555"
        }
    }

    public func html(summary: RunSummary, stats: Replay.InputStats, inputs: [String]) -> String {
        var m = Markup()
        let start = buckets.origin ?? summary.start.nanoseconds
        let end = max(self.end ?? summary.end.nanoseconds, summary.end.nanoseconds, start + 1)
        m.raw("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head><meta charset=\"utf-8\"/>")
        m.raw("<title>tcptrace-bpf report</title><style>")
        m.raw(Self.css)
        m.raw("</style></head><body><main>")
        header(&m, summary: summary, stats: stats, inputs: inputs)
        lossBanner(&m, summary: summary, stats: stats)
        figures(&m, summary: summary)
        m.raw("<section><h2>Sockets by state over time</h2>")
        timeline(&m, start: start, end: end)
        m.raw("</section><section><h2>CLOSE_WAIT lingerers</h2>")
        lingerers(&m, summary: summary, start: start, end: end)
        leakGroups(&m)
        m.raw("</section><section><h2>Durations</h2>")
        durations(&m, summary: summary)
        m.raw("</section><section><h2>TIME_WAIT by destination</h2>")
        timeWait(&m, summary: summary)
        m.raw("</section><section><h2>TIME_WAIT makers and failed connects</h2>")
        churn(&m, summary: summary)
        m.raw("</section><section><h2>Longest-lived connections</h2>")
        connectionTable(&m, longestConnections, emptyText: "No connection closed in the log.")
        m.raw("</section><section><h2>Slowest connects</h2>")
        connectionTable(&m, slowestConnects, emptyText: "No client connect (SYN_SENT → ESTABLISHED) in the log.")
        m.raw("</section>")
        m.raw("<footer>Made by <code>tcptrace-bpf report --html</code> from ")
        m.text(ChartAxis.compact(Double(stats.lines)))
        m.raw(" lines. Bounded memory: the timeline keeps \(buckets.capacity) time buckets (")
        m.text(ChartAxis.duration(UInt64(buckets.width)))
        m.raw(" each here; neighbours merge as the log grows), the \(Self.keptLingerers) longest lingerers and the \(Self.keptConnections) longest and slowest connections.</footer>")
        m.raw("</main></body></html>\n")
        return m.s
    }

    static let css = """
        body{font:14px/1.4 "DejaVu Sans",Helvetica,Arial,sans-serif;color:#222;background:#fff;margin:0}
        main{max-width:1100px;margin:0 auto;padding:16px 20px}
        h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 6px;border-bottom:1px solid #ddd;padding-bottom:3px}
        .sub{color:#555;margin:0 0 10px}code{font-family:"DejaVu Sans Mono",monospace;font-size:12px}
        .banner{padding:10px 14px;border-radius:4px;font-weight:bold;margin:10px 0}
        .banner.ok{background:#e7f4e4;border:1px solid #59a14f}.banner.warn{background:#fff4e0;border:1px solid #f28e2b}.banner.bad{background:#fde8e8;border:2px solid #c62828;color:#8e0000;font-size:16px}
        .banner span{font-weight:normal;display:block;font-size:13px;color:#333}
        .figs{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0}
        .fig{border:1px solid #ddd;border-radius:4px;padding:6px 12px;min-width:110px}
        .fig b{display:block;font-size:20px}.fig i{font-style:normal;color:#555;font-size:12px}
        svg{display:block;max-width:100%;height:auto}svg text{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif}
        .legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;margin:4px 0}
        .legend span{white-space:nowrap}.sw{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px;border:1px solid #0003}
        table{border-collapse:collapse;font-size:12px;width:100%}th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #eee;vertical-align:middle}
        th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
        .note{color:#555;font-size:12px;margin:4px 0}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:6px 12px}
        footer{color:#666;font-size:11px;margin-top:24px;border-top:1px solid #ddd;padding-top:6px}
        @media print{main{max-width:none;padding:0}section{break-inside:avoid}.banner.bad{border-width:3px}}
        """

    // MARK: - Sections

    func header(_ m: inout Markup, summary: RunSummary, stats: Replay.InputStats, inputs: [String]) {
        m.raw("<h1>tcptrace-bpf report</h1><p class=\"sub\">")
        if let first = stats.first, let last = stats.last {
            m.text("Log from \(first.rfc3339) to \(last.rfc3339) (")
            m.text(ChartAxis.duration(UInt64(max(0, last.nanoseconds - first.nanoseconds))))
            m.raw("), times in UTC. ")
        } else {
            m.raw("The log holds no timed record. ")
        }
        m.text("Input: \(inputs.joined(separator: ", ")). CLOSE_WAIT threshold ")
        m.text(ChartAxis.duration(closeWaitThresholdNanoseconds))
        m.raw(".</p>")
    }

    func lossBanner(_ m: inout Markup, summary: RunSummary, stats: Replay.InputStats) {
        let lost = recordedLoss.total
        let bad = lost > 0 || stats.malformed > 0
        m.raw(bad ? "<div class=\"banner bad\">" : recordedSummaries == 0 ? "<div class=\"banner warn\">" : "<div class=\"banner ok\">")
        if recordedSummaries == 0 {
            m.raw("Events lost by the tracer: unknown (no <code>summary</code> record in the log: the run was cut short or is still going)")
        } else {
            m.text("Events lost by the tracer: \(lost)")
            m.text(" (ring buffer full \(recordedLoss.ringBufferFull), recursion misses \(recordedLoss.recursionMisses), undecodable \(recordedLoss.undecodable); from \(recordedSummaries) run summar\(recordedSummaries == 1 ? "y" : "ies"))")
        }
        m.raw("<span>")
        m.text(
            "Malformed lines skipped: \(stats.malformed). Transitions older than the reorder window: \(stats.late). Connection-table evictions: \(summary.tableEvictions).")
        m.raw("</span></div>")
    }

    func figures(_ m: inout Markup, summary: RunSummary) {
        let lingerers = holders.values.reduce(otherHolders.lingerers) { $0 + $1.lingerers }
        let figs: [(String, String)] = [
            (ChartAxis.compact(Double(summary.events)), "transitions"),
            (ChartAxis.compact(Double(summary.connections)), "connections closed"),
            (ChartAxis.compact(Double(lingerers)), "CLOSE_WAIT lingerers"),
            (ChartAxis.compact(Double(summary.timeWait.total)), "closed into TIME_WAIT"),
            (ChartAxis.compact(Double(peakSockets)), "peak sockets (drawn states)"),
            (summary.connectLatency.p99.map { ChartAxis.duration($0) } ?? "–", "connect p99"),
            (ChartAxis.compact(Double(censusRecords)), "census records"),
        ]
        m.raw("<div class=\"figs\">")
        for (value, label) in figs {
            m.raw("<div class=\"fig\"><b>")
            m.text(value)
            m.raw("</b><i>")
            m.text(label)
            m.raw("</i></div>")
        }
        m.raw("</div>")
    }

    func legend(_ m: inout Markup, _ states: [TCPState]) {
        m.raw("<div class=\"legend\">")
        for s in states {
            m.raw("<span><i class=\"sw\" style=\"background:\(Self.colour(s))\"></i>\(s.name)</span>")
        }
        m.raw("</div>")
    }

    /// The time axis shared by the timeline and the lingerers.
    func timeAxis(_ m: inout Markup, x: LinearScale, start: Int64, end: Int64, top: Double, bottom: Double, grid: Bool) {
        let (step, ticks) = ChartAxis.timeTicks(start: start, end: end, maxTicks: 9)
        for t in ticks {
            let px = x(Double(t))
            if grid { m.line(px, top, px, bottom, "#eee") }
            m.line(px, bottom, px, bottom + 4, "#888")
            m.label(px, bottom + 16, ChartAxis.clockLabel(t, step: step), anchor: "middle")
        }
        m.line(x.range.0, bottom, x.range.1, bottom, "#888")
    }

    func timeline(_ m: inout Markup, start: Int64, end: Int64) {
        guard buckets.used > 0 else {
            m.raw("<p class=\"note\">No transition or census in the log.</p>")
            return
        }
        let present = Self.drawnStates.indices.filter { s in (0..<buckets.used).contains { buckets.peak(bucket: $0, state: s) > 0 } }
        legend(&m, present.map { Self.drawnStates[$0] })
        let w = 1060.0, left = 58.0, right = w - 12, top = 10.0, bottom = 250.0, rateTop = 290.0, rateBottom = 350.0
        let x = LinearScale(domain: (Double(start), Double(end)), range: (left, right))
        var maxStack = 0.0
        for b in 0..<buckets.used {
            maxStack = max(maxStack, Double(present.reduce(Int32(0)) { $0 + buckets.peak(bucket: b, state: $1) }))
        }
        let yTicks = ChartAxis.countTicks(upTo: maxStack)
        let y = LinearScale(domain: (0, yTicks.last!), range: (bottom, top))
        m.raw("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(w)) 380\" width=\"\(Int(w))\" height=\"380\" role=\"img\" aria-label=\"sockets by state over time\">")
        for t in yTicks {
            m.line(left, y(t), right, y(t), "#eee")
            m.label(left - 6, y(t) + 4, ChartAxis.compact(t), anchor: "end")
        }
        m.label(14, (top + bottom) / 2, "sockets", anchor: "middle", rotate: true)
        // Stacked steps: each state's band between the running total below it and above it.
        var below = [Double](repeating: 0, count: buckets.used)
        for s in present {
            var upper: [Double] = []
            for b in 0..<buckets.used { upper.append(below[b] + Double(buckets.peak(bucket: b, state: s))) }
            var points = ""
            for b in 0..<buckets.used {
                let x0 = x(Double(max(buckets.start(ofBucket: b), start))), x1 = x(Double(min(buckets.start(ofBucket: b + 1), end)))
                points += "\(f(x0)),\(f(y(upper[b]))) \(f(x1)),\(f(y(upper[b]))) "
            }
            for b in (0..<buckets.used).reversed() {
                let x0 = x(Double(max(buckets.start(ofBucket: b), start))), x1 = x(Double(min(buckets.start(ofBucket: b + 1), end)))
                points += "\(f(x1)),\(f(y(below[b]))) \(f(x0)),\(f(y(below[b]))) "
            }
            let state = Self.drawnStates[s]
            m.raw("<polygon points=\"\(points)\" fill=\"\(Self.colour(state))\" fill-opacity=\"0.9\"><title>\(state.name)</title></polygon>")
            below = upper
        }
        // Census records: small marks above the plot.
        for b in 0..<buckets.used where buckets.census[b] {
            let cx = x(Double(buckets.start(ofBucket: b)) + Double(buckets.width) / 2)
            m.raw("<path d=\"M\(f(cx - 4)),\(f(top - 2)) L\(f(cx + 4)),\(f(top - 2)) L\(f(cx)),\(f(top + 5)) Z\" fill=\"#333\"><title>census record</title></path>")
        }
        timeAxis(&m, x: x, start: start, end: end, top: top, bottom: bottom, grid: false)
        // Transition rate per bucket.
        let seconds = Double(buckets.width) / 1e9
        var maxRate = 0.0
        for b in 0..<buckets.used { maxRate = max(maxRate, Double(buckets.transitions[b]) / seconds) }
        let rTicks = ChartAxis.countTicks(upTo: maxRate, maxTicks: 2)
        let r = LinearScale(domain: (0, rTicks.last!), range: (rateBottom, rateTop))
        for t in rTicks {
            m.line(left, r(t), right, r(t), "#eee")
            m.label(left - 6, r(t) + 4, ChartAxis.compact(t), anchor: "end")
        }
        for b in 0..<buckets.used where buckets.transitions[b] > 0 {
            let x0 = x(Double(max(buckets.start(ofBucket: b), start))), x1 = x(Double(min(buckets.start(ofBucket: b + 1), end)))
            let v = Double(buckets.transitions[b]) / seconds
            m.raw("<rect x=\"\(f(x0))\" y=\"\(f(r(v)))\" width=\"\(f(max(x1 - x0, 0.8)))\" height=\"\(f(rateBottom - r(v)))\" fill=\"#4e79a7\" fill-opacity=\"0.6\"/>")
        }
        m.line(left, rateBottom, right, rateBottom, "#888")
        m.label(left, rateTop - 8, "transitions per second", anchor: "start")
        m.label(right, 372, "time (UTC)", anchor: "end")
        m.raw("</svg><p class=\"note\">Each bucket (")
        m.text(ChartAxis.duration(UInt64(buckets.width)))
        m.raw(") shows each state's highest count within it, counted from transitions and reset by census records (▼). TIME_WAIT and orphaned FIN_WAIT2 sockets are counted from the connections that closed into them, for 60 s. Sockets that existed before the log began appear only once a census counts them.</p>")
    }

    func lingerers(_ m: inout Markup, summary: RunSummary, start: Int64, end: Int64) {
        let bars = lingererBars
        guard !bars.isEmpty else {
            m.raw("<p class=\"note\">No socket stayed in CLOSE_WAIT longer than ")
            m.text(ChartAxis.duration(closeWaitThresholdNanoseconds))
            m.raw(".</p>")
            return
        }
        // Lanes grouped by holder, the holder with most lingerers first.
        let rank = Dictionary(uniqueKeysWithValues: summary.lingerersRanked.enumerated().map { ($1.holder, $0) })
        let key: (LingererBar) -> Owner = { $0.holder ?? Owner(pid: 0, comm: "?") }
        let sorted = bars.sorted {
            let a = rank[key($0)] ?? Int.max, b = rank[key($1)] ?? Int.max
            return a != b ? a < b : (key($0).pid, $0.start) < (key($1).pid, $1.start)
        }
        let lane = 16.0, top = 8.0, left = 190.0, right = 1048.0
        var rowsY: [Double] = []
        var headers: [(Double, Owner?)] = []
        var yy = top
        var previous: Owner?
        for bar in sorted {
            if previous != key(bar) {
                headers.append((yy, bar.holder))
                yy += lane
                previous = key(bar)
            }
            rowsY.append(yy)
            yy += lane
        }
        let bottom = yy
        let x = LinearScale(domain: (Double(start), Double(end)), range: (left, right))
        m.raw("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1060 \(Int(bottom + 30))\" width=\"1060\" height=\"\(Int(bottom + 30))\" role=\"img\" aria-label=\"CLOSE_WAIT lingerers\">")
        timeAxis(&m, x: x, start: start, end: end, top: top, bottom: bottom, grid: true)
        for (hy, holder) in headers {
            if hy > top { m.line(8, hy, right, hy, "#ccc") }
            m.label(8, hy + 12, Self.holderName(holder), anchor: "start", bold: true)
        }
        for (i, bar) in sorted.enumerated() {
            let yy = rowsY[i]
            let x0 = x(Double(max(bar.start, start))), x1 = x(Double(min(bar.end, end)))
            let threshold = x(Double(min(bar.start + Int64(closeWaitThresholdNanoseconds), end)))
            m.raw("<g><title>")
            m.text(
                "\(Self.holderName(bar.holder)): \(bar.local) ← \(bar.remote), cookie \(bar.cookie)\(bar.container.map { ", container \($0)" } ?? ""), in CLOSE_WAIT \(bar.startIsLowerBound ? "at least " : "")\(ChartAxis.duration(UInt64(max(0, bar.duration))))\(bar.open ? ", still open at the end of the log" : ", then closed")\(bar.unreadBytes.map { ", \($0) B unread" } ?? "")")
            m.raw("</title>")
            m.raw("<rect x=\"\(f(x0))\" y=\"\(f(yy + 3))\" width=\"\(f(max(x1 - x0, 1.5)))\" height=\"10\" fill=\"#e15759\" fill-opacity=\"0.35\"/>")
            // Past the threshold: solid.
            if threshold < x1 {
                m.raw("<rect x=\"\(f(threshold))\" y=\"\(f(yy + 3))\" width=\"\(f(x1 - threshold))\" height=\"10\" fill=\"#e15759\"/>")
            }
            if bar.open {
                m.raw("<path d=\"M\(f(x1)),\(f(yy + 1)) l6,7 l-6,7 Z\" fill=\"#8e0000\"/>")
            }
            m.raw("</g>")
            m.label(180, yy + 12, "\(bar.remote)\(bar.startIsLowerBound ? " ◀" : "")", anchor: "end", size: 10, colour: "#555")
        }
        m.raw("</svg>")
        m.raw("<p class=\"note\">One lane per lingerer (the \(Self.keptLingerers) longest), grouped by the process holding it: pale from entering CLOSE_WAIT, solid once past the threshold, ▶ still in CLOSE_WAIT when the log ends. Hover a bar for the socket.</p>")
        // Holders.
        m.raw("<table><tr><th>holder</th><th>lingerers</th><th>longest in CLOSE_WAIT</th><th>still in CLOSE_WAIT at the end</th></tr>")
        var rows = holders.sorted { ($0.value.lingerers, $1.key.pid) > ($1.value.lingerers, $0.key.pid) }.prefix(20).map { ($0.key as Owner?, $0.value) }
        if otherHolders.lingerers > 0 { rows.append((nil, otherHolders)) }
        for (h, s) in rows {
            m.raw("<tr><td>")
            m.text(h.map { Self.holderName($0) } ?? "other holders")
            m.raw("</td><td class=\"n\">\(s.lingerers)</td><td class=\"n\">")
            m.text(ChartAxis.duration(UInt64(max(0, s.longest))))
            m.raw("</td><td class=\"n\">\(s.openAtEnd)</td></tr>")
        }
        m.raw("</table>")
    }

    static func holderName(_ o: Owner?) -> String {
        guard let o, o.pid != 0 else { return "holder unknown" }
        return "\(o.comm) (pid \(o.pid))"
    }

    func durations(_ m: inout Markup, summary: RunSummary) {
        var charts: [(String, DurationHistogram, String)] = []
        if summary.connectLatency.count > 0 { charts.append(("connect latency", summary.connectLatency, "#f28e2b")) }
        for (state, h) in summary.measuredStates where state != .close {
            charts.append(("time in \(state.name)", h, Self.colour(state)))
        }
        guard !charts.isEmpty else {
            m.raw("<p class=\"note\">No measured duration in the log.</p>")
            return
        }
        m.raw("<p class=\"note\">Count per duration, log scale (5 bins per decade); dashed lines at p50, p90 and p99.</p><div class=\"grid\">")
        for (title, h, colour) in charts { histogram(&m, title: title, h, colour: colour) }
        m.raw("</div>")
    }

    /// Bins of a histogram on a log axis, 5 per decade: (lower edge exponent × 5, count).
    public static func logBins(_ h: DurationHistogram, perDecade: Int = 5) -> [Int: UInt64] {
        var bins: [Int: UInt64] = [:]
        for b in h.buckets {
            let mid = (Double(b.low) + Double(b.high)) / 2
            let bin = Int((ChartAxis.log10(mid) * Double(perDecade) + 1e-9).rounded(.down))
            bins[bin, default: 0] += b.count
        }
        return bins
    }

    func histogram(_ m: inout Markup, title: String, _ h: DurationHistogram, colour: String) {
        let w = 340.0, left = 44.0, right = w - 20, top = 22.0, bottom = 120.0
        let decades = ChartAxis.durationDecades(min: h.min ?? 0, max: h.max ?? 0)
        let x = LogScale(decades: decades, range: (left, right))
        let bins = Self.logBins(h)
        let yTicks = ChartAxis.countTicks(upTo: Double(bins.values.max() ?? 1), maxTicks: 3)
        let y = LinearScale(domain: (0, yTicks.last!), range: (bottom, top))
        m.raw("<div><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(w)) 146\" width=\"\(Int(w))\" height=\"146\" role=\"img\">")
        m.label(8, 13, title, anchor: "start", bold: true)
        m.label(w - 8, 13, "n = \(ChartAxis.compact(Double(h.count)))", anchor: "end", size: 11, colour: "#555")
        for t in yTicks {
            m.line(left, y(t), right, y(t), "#eee")
            m.label(left - 4, y(t) + 4, ChartAxis.compact(t), anchor: "end", size: 10)
        }
        for (bin, n) in bins.sorted(by: { $0.key < $1.key }) {
            let x0 = LinearScale(domain: (Double(decades.lowerBound), Double(decades.upperBound)), range: (left, right))
            let a = x0(max(Double(bin) / 5, Double(decades.lowerBound))), b = x0(min(Double(bin + 1) / 5, Double(decades.upperBound)))
            m.raw("<rect x=\"\(f(a + 0.5))\" y=\"\(f(y(Double(n))))\" width=\"\(f(max(b - a - 1, 1)))\" height=\"\(f(bottom - y(Double(n))))\" fill=\"\(colour)\"><title>\(n)</title></rect>")
        }
        for (p, v) in [("p50", h.p50), ("p90", h.p90), ("p99", h.p99)] {
            guard let v else { continue }
            let px = x(Double(v))
            m.raw("<line x1=\"\(f(px))\" y1=\"\(f(top))\" x2=\"\(f(px))\" y2=\"\(f(bottom))\" stroke=\"#333\" stroke-dasharray=\"3,2\"><title>")
            m.text("\(p) \(ChartAxis.duration(v))")
            m.raw("</title></line>")
        }
        m.line(left, bottom, right, bottom, "#888")
        for d in decades {
            let px = x(pow10(d))
            m.line(px, bottom, px, bottom + 3, "#888")
            m.label(px, bottom + 14, ChartAxis.decadeLabel(d), anchor: "middle", size: 10)
        }
        m.raw("</svg>")
        m.raw("<p class=\"note\">")
        m.text("p50 \(h.p50.map { ChartAxis.duration($0) } ?? "–") · p90 \(h.p90.map { ChartAxis.duration($0) } ?? "–") · p99 \(h.p99.map { ChartAxis.duration($0) } ?? "–") · max \(h.max.map { ChartAxis.duration($0) } ?? "–")")
        m.raw("</p></div>")
    }

    func pow10(_ d: Int) -> Double {
        var v = 1.0
        for _ in 0..<d { v *= 10 }
        return v
    }

    func timeWait(_ m: inout Markup, summary: RunSummary) {
        let tally = summary.timeWait
        let top = tally.top(15)
        guard !top.isEmpty else {
            m.raw("<p class=\"note\">No connection closed into TIME_WAIT in the log.</p>")
            return
        }
        let rows = top.map { (Self.endpoint($0.endpoint.remote, $0.endpoint.remotePort), $0.count) } + (tally.other > 0 ? [("other destinations", tally.other)] : [])
        let listed = top.reduce(UInt64(0)) { $0 + $1.count }
        let rest = tally.total - listed - tally.other
        let all = rows + (rest > 0 ? [("\(tally.byEndpoint.count - top.count) more destinations", rest)] : [])
        let lane = 20.0, left = 230.0, right = 980.0
        let xTicks = ChartAxis.countTicks(upTo: Double(all.map { $0.1 }.max() ?? 1), maxTicks: 5)
        let x = LinearScale(domain: (0, xTicks.last!), range: (left, right))
        let height = lane * Double(all.count) + 30
        m.raw("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1060 \(Int(height))\" width=\"1060\" height=\"\(Int(height))\" role=\"img\" aria-label=\"TIME_WAIT by destination\">")
        for t in xTicks {
            m.line(x(t), 4, x(t), height - 24, "#eee")
            m.label(x(t), height - 10, ChartAxis.compact(t), anchor: "middle", size: 10)
        }
        for (i, (name, n)) in all.enumerated() {
            let yy = 4 + lane * Double(i)
            m.label(left - 6, yy + 14, name, anchor: "end")
            m.raw("<rect x=\"\(f(left))\" y=\"\(f(yy + 3))\" width=\"\(f(max(x(Double(n)) - left, 1)))\" height=\"14\" fill=\"#b07aa1\"/>")
            m.label(x(Double(n)) + 4, yy + 14, "\(n)", anchor: "start", size: 11)
        }
        m.raw("</svg><p class=\"note\">")
        m.text(
            "\(tally.total) connections closed into a timewait socket (TIME_WAIT, or an orphaned FIN_WAIT2 waiting for the peer's FIN), by remote endpoint. Each holds its local port for up to 60 s.")
        m.raw("</p>")
    }

    func connectionTable(_ m: inout Markup, _ rows: [KeptConnection], emptyText: String) {
        guard !rows.isEmpty else {
            m.raw("<p class=\"note\">")
            m.text(emptyText)
            m.raw("</p>")
            return
        }
        let scaleMax = Double(rows.map { $0.lifetime }.max() ?? 1)
        let states = Array(Set(rows.flatMap { $0.record.timeline.map(\.state) })).sorted { a, b in
            (Self.drawnStates.firstIndex(of: a) ?? 99, a.rawValue) < (Self.drawnStates.firstIndex(of: b) ?? 99, b.rawValue)
        }
        legend(&m, states)
        m.raw("<table><tr><th>closed at</th><th>cookie</th><th>role, owner</th><th>local → remote</th><th>lifetime</th><th>connect</th><th>closed by</th><th>timeline (0 → ")
        m.text(ChartAxis.duration(UInt64(scaleMax)))
        m.raw(")</th></tr>")
        for k in rows {
            let c = k.record
            m.raw("<tr><td>")
            m.text(ChartAxis.clockLabel(c.time.nanoseconds, step: 1))
            m.raw("</td><td class=\"n\">\(c.identity.cookie)</td><td>")
            m.text("\(c.role.rawValue)\(c.owner.map { " \($0.comm) (pid \($0.pid))" } ?? "")\(k.container.map { " [\($0)]" } ?? "")")
            m.raw("</td><td><code>")
            m.text("\(Self.endpoint(c.identity.local, c.identity.localPort)) → \(Self.endpoint(c.identity.remote, c.identity.remotePort))")
            m.raw("</code></td><td class=\"n\">")
            m.text((c.partial ? "≥ " : "") + ChartAxis.duration(k.lifetime))
            m.raw("</td><td class=\"n\">")
            m.text(c.connectNanoseconds.map { ChartAxis.duration($0) } ?? "–")
            m.raw("</td><td>")
            m.text(c.closedBy.rawValue + (c.timeWaitState.map { ", then \($0.name)" } ?? ""))
            m.raw("</td><td>")
            swimlane(&m, c, scaleMax: scaleMax)
            m.raw("</td></tr>")
        }
        m.raw("</table>")
    }

    /// One connection's states as consecutive bars on a linear scale shared by the table; a
    /// span too short to see is drawn 1 px wide.
    func swimlane(_ m: inout Markup, _ c: ConnectionRecord, scaleMax: Double) {
        let w = 300.0
        let x = LinearScale(domain: (0, max(scaleMax, 1)), range: (0, w))
        m.raw("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(w)) 14\" width=\"\(Int(w))\" height=\"14\">")
        m.raw("<rect x=\"0\" y=\"6\" width=\"\(Int(w))\" height=\"2\" fill=\"#eee\"/>")
        var at = 0.0
        for span in c.timeline {
            let ns = Double(span.nanoseconds ?? 0)
            let x0 = x(at), width = max(x(at + ns) - x0, 1)
            m.raw("<rect x=\"\(f(min(x0, w - 1)))\" y=\"1\" width=\"\(f(width))\" height=\"12\" fill=\"\(Self.colour(span.state))\"><title>")
            m.text("\(span.state.name) \(span.nanoseconds.map { ChartAxis.duration($0) } ?? "(entered before the tracer saw it)")")
            m.raw("</title></rect>")
            at += ns
        }
        m.raw("</svg>")
    }

    func f(_ v: Double) -> String { ChartAxis.fixed(v, 1) }
}
