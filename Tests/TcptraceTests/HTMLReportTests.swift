import FoundationXML
import Foundation
import Testing
@testable import TcptraceCore

/// Collects what an XML parse saw: element counts, all text, and the first error.
final class PageCheck: NSObject, XMLParserDelegate {
    var elements: [String: Int] = [:]
    var text = ""
    var titles: [String] = []
    var inTitle = 0
    var error: Error?

    func parser(_ p: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        elements[name, default: 0] += 1
        if name == "title" {
            inTitle += 1
            titles.append("")
        }
    }
    func parser(_ p: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "title" { inTitle -= 1 }
    }
    func parser(_ p: XMLParser, foundCharacters s: String) {
        text += s
        if inTitle > 0 { titles[titles.count - 1] += s }
    }
    func parser(_ p: XMLParser, parseErrorOccurred e: Error) { error = e }

    /// Parses `html` strictly as XML; nil when it is not well-formed.
    static func parse(_ html: String) -> PageCheck? {
        let check = PageCheck()
        let p = XMLParser(data: Data(html.utf8))
        p.delegate = check
        return p.parse() && check.error == nil ? check : nil
    }
}

/// A fixed log: a listener, a client that closes into TIME_WAIT, a server socket left in
/// CLOSE_WAIT by a process with a hostile name, a census and a live run's summary with losses.
func fixedLog() -> [String] {
    let base: Int64 = 1_795_614_000_000_000_000  // 2026-11-25T13:40:00Z
    let ms: Int64 = 1_000_000
    let hostile: CommName = "<script>&\"'"
    let owner = Owner(pid: 4242, comm: hostile)
    var lines: [String] = []
    let pod = ContainerRegistry.shared.intern(ContainerInfo(path: "/kubepods/x", podName: "<img src=x onerror=alert(1)>"))
    func add(_ at: Int64, _ cookie: UInt64, _ lport: UInt16, _ rport: UInt16, _ old: TCPState, _ new: TCPState, _ inOld: Int64?, tw: Bool = false) {
        var t = Transition(
            time: WallTime(nanoseconds: base + at * ms),
            identity: SocketIdentity(cookie: cookie, local: .v4(0x7f00_0001), localPort: lport, remote: .v4(0x7f00_0001), remotePort: rport, netns: 7),
            old: old, new: new, nanosecondsInOld: inOld.map { UInt64($0) * UInt64(ms) }, pid: 4242, comm: hostile, owner: owner,
            receiveQueue: new == .close ? (tw ? 1 : 0) : nil)
        if cookie == 2 { t.identity.container = pod }  // the client, in a pod with a hostile name
        var out: [UInt8] = []
        JSONLines.append(t, to: &out)
        lines.append(String(decoding: out.dropLast(), as: UTF8.self))
    }
    add(0, 1, 8080, 0, .close, .listen, nil)
    add(100, 2, 0, 8080, .close, .synSent, nil)
    add(101, 2, 40000, 8080, .synSent, .established, 1)
    add(101, 3, 8080, 40000, .listen, .synRecv, nil)
    add(101, 3, 8080, 40000, .synRecv, .established, 0)
    add(200, 2, 40000, 8080, .established, .finWait1, 99)
    add(200, 3, 8080, 40000, .established, .closeWait, 99)
    add(201, 2, 40000, 8080, .finWait1, .finWait2, 1)
    add(5000, 2, 40000, 8080, .finWait2, .close, 4799, tw: true)
    lines.append(
        #"{"type":"census","v":1,"time":"2026-11-25T13:40:03Z","netns":7,"netns_name":null,"family":null,"ports":[],"total":4,"states":{"ESTABLISHED":0,"SYN_SENT":0,"SYN_RECV":0,"FIN_WAIT1":0,"FIN_WAIT2":1,"TIME_WAIT":0,"CLOSE":0,"CLOSE_WAIT":1,"LAST_ACK":0,"LISTEN":2,"CLOSING":0},"top_time_wait":[],"top_close_wait":[],"port_range":{"low":32768,"high":60999,"size":28232},"port_exhaustion":[]}"#
    )
    add(8000, 99, 9999, 1, .established, .finWait1, nil)  // a socket from before the log
    lines.append(
        #"{"type":"summary","v":1,"time":"2026-11-25T13:40:10Z","duration_s":10.0,"events":11,"transitions":{},"lost":{"ringbuf_full":3,"recursion_misses":0,"undecodable":0,"total":3},"kernel":{"seen":11,"filtered":0,"no_storage":0}}"#
    )
    return lines
}

/// The page `report --html` makes of `lines`, through the real replay.
func page(_ lines: [String], threshold: UInt64 = 1_000_000_000) -> (html: String, model: HTMLReportModel) {
    var replay = Replay(table: ConnectionTable(lingerThresholdNanoseconds: threshold))
    replay.emitsStateChanges = true
    var model = HTMLReportModel(closeWaitThresholdNanoseconds: threshold)
    for line in lines {
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBufferPointer { replay.feed(line: $0) { model.observe($0) } }
    }
    for var l in replay.finish({ model.observe($0) }) {
        l.event = .openAtEnd
        model.observe(.lingerer(l))
    }
    model.close(at: replay.summary.end)
    return (model.html(summary: replay.summary, stats: replay.stats, inputs: ["logs/<b>fixed</b>.jsonl"]), model)
}

@Suite struct HTMLReportTests {
    @Test func pageOfAFixedLogIsWellFormedAndSaysWhatHappened() throws {
        let (html, model) = page(fixedLog())
        let check = try #require(PageCheck.parse(html), "not well-formed XML")
        #expect(check.elements["svg", default: 0] >= 5)
        #expect(check.elements["script"] == nil, "no script in the page")
        // The hostile comm is text, escaped, never markup.
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;&amp;&quot;&#39; (pid 4242)"))
        #expect(check.text.contains("<script>&\"' (pid 4242)"), "the parser reads the name back as text")
        // So are container names and file names.
        #expect(!html.contains("<img") && !html.contains("<b>fixed"))
        #expect(html.contains("[&lt;img src=x onerror=alert(1)&gt;]") && html.contains("logs/&lt;b&gt;fixed&lt;/b&gt;.jsonl"))
        // The lingerer: one, held by pid 4242, still in CLOSE_WAIT when the log ends (at 8 s).
        let bars = model.lingererBars
        #expect(bars.count == 1)
        let bar = try #require(bars.first)
        #expect(bar.holder?.pid == 4242 && bar.open && bar.cookie == 3)
        #expect(bar.duration == 9_800_000_000, "from entering CLOSE_WAIT at 0.2 s to the end of the log (the summary at 10 s)")
        #expect(check.titles.contains { $0.contains("cookie 3") && $0.contains("still open at the end of the log") })
        #expect(model.holders[Owner(pid: 4242, comm: "<script>&\"'")]?.openAtEnd == 1)
        // Counts: the live run's loss is shown as such.
        #expect(check.text.contains("Events lost by the tracer: 3 (ring buffer full 3"))
        #expect(html.contains("class=\"banner bad\""))
        #expect(model.censusRecords == 1 && model.recordedSummaries == 1)
        #expect(check.text.contains("1 connections closed into a timewait socket"))
        #expect(model.longestConnections.map { $0.record.identity.cookie }.contains(2))
        #expect(model.slowestConnects.map { $0.record.identity.cookie } == [2])
    }

    @Test func stateCountsFollowTransitionsTimeWaitAndCensus() {
        let (_, model) = page(fixedLog())
        let b = model.buckets
        let slot = { (s: TCPState) in HTMLReportModel.drawnStates.firstIndex(of: s)! }
        // 10 s of log (to the summary record) in 10 ms buckets: 1000 > 240, so merged three
        // times (80 ms buckets); the last time, 10.000 s, is in bucket 125.
        #expect(b.width == 80_000_000 && b.used == 126)
        func at(_ ms: Int64) -> Int { Int((1_795_614_000_000_000_000 + ms * 1_000_000 - b.origin!) / b.width) }
        #expect(b.peak(bucket: at(150), state: slot(.established)) == 2)
        #expect(b.peak(bucket: at(300), state: slot(.closeWait)) == 1)
        #expect(b.peak(bucket: at(300), state: slot(.finWait2)) == 1)
        // The client closed into TIME_WAIT at 5 s: counted from then (for 60 s).
        #expect(b.peak(bucket: at(4900), state: slot(.timeWait)) == 0)
        #expect(b.peak(bucket: at(5100), state: slot(.timeWait)) == 1)
        // The census at 3 s says FIN_WAIT2 1, LISTEN 2: the listener count is set to 2.
        #expect(b.peak(bucket: at(2900), state: slot(.listen)) == 1)
        #expect(b.peak(bucket: at(3100), state: slot(.listen)) == 2)
        #expect(b.census[at(3000)])
        // A socket first seen leaving ESTABLISHED: that count does not go below 0.
        #expect(b.peak(bucket: at(8000), state: slot(.established)) == 0)
        #expect(b.transitions.reduce(0, +) == 10)
    }

    @Test func timeWaitExpiresAfterSixtySeconds() {
        var lines = fixedLog()
        // One more record 70 s later: the timewait socket from 5 s has expired by then.
        lines.append(#"{"type":"census","v":1,"time":"2026-11-25T13:41:10Z","netns":8,"states":{"ESTABLISHED":0}}"#)
        let (_, model) = page(lines)
        let b = model.buckets
        let tw = HTMLReportModel.drawnStates.firstIndex(of: .timeWait)!
        #expect(b.peak(bucket: b.used - 1, state: tw) == 0)
        let max = (0..<b.used).map { b.peak(bucket: $0, state: tw) }.max()
        #expect(max == 1)
    }

    @Test func lingerersFollowedAreBounded() {
        var model = HTMLReportModel(closeWaitThresholdNanoseconds: 1_000_000_000)
        let n = HTMLReportModel.maxOpenLingerers + 1
        for i in 0..<n {
            let l = LingererRecord(
                event: .lingering, time: WallTime(nanoseconds: 1_000_000_000_000 + Int64(i) * 1_000_000), identity: SocketIdentity(cookie: UInt64(i), local: .v4(1), localPort: 80, remote: .v4(2), remotePort: 9),
                holder: LingererRecord.Holder(process: Owner(pid: 7, comm: "leaky"), fd: nil), inode: nil, ageNanoseconds: 1_000_000_000,
                ageIsLowerBound: false, unreadBytes: nil)
            model.observe(.lingerer(l))
        }
        #expect(model.openLingerers.count == 1, "settled when the bound was reached")
        let bars = model.lingererBars
        #expect(bars.count == HTMLReportModel.keptLingerers && bars.allSatisfy(\.open))
        #expect(bars.first?.cookie == 0, "the longest: the first to linger")
        #expect(model.holders[Owner(pid: 7, comm: "leaky")]?.lingerers == UInt64(n))
    }

    @Test func emptyLogIsAPageToo() throws {
        let (html, _) = page([])
        let check = try #require(PageCheck.parse(html))
        #expect(check.text.contains("No transition or census in the log."))
        #expect(check.text.contains("Events lost by the tracer: unknown"))
        #expect(html.contains("class=\"banner warn\""), "unknown loss is not shown as none")
    }

    @Test func escapingCoversMarkupQuotesAndControlCharacters() {
        #expect(Markup.escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&#39;")
        #expect(Markup.escape("x\u{1}y\u{7f}z\u{85}") == "x\u{FFFD}y\u{FFFD}z\u{FFFD}")
        #expect(Markup.escape("tab\there ü €") == "tab\there ü €")
    }
}

/// Golden values for the charts' arithmetic.
@Suite struct ChartAxisTests {
    @Test func niceStepsAndCountTicks() {
        #expect(ChartAxis.niceStep(span: 1000, maxTicks: 5) == 200)
        #expect(ChartAxis.niceStep(span: 1200, maxTicks: 5) == 500)
        #expect(ChartAxis.niceStep(span: 7, maxTicks: 5) == 2)
        #expect(ChartAxis.niceStep(span: 0.3, maxTicks: 3) == 0.1)
        #expect(ChartAxis.countTicks(upTo: 1186) == [0, 500, 1000, 1500])
        #expect(ChartAxis.countTicks(upTo: 3) == [0, 1, 2, 3])
        #expect(ChartAxis.countTicks(upTo: 0) == [0, 1])
        #expect(ChartAxis.countTicks(upTo: 48_000, maxTicks: 2) == [0, 50_000])
    }

    @Test func timeTicksFallOnRoundClockTimes() {
        let s: Int64 = 1_000_000_000
        let start = 1_795_614_000 * s + 719_449_968  // 13:40:00.719
        let (step, ticks) = ChartAxis.timeTicks(start: start, end: start + 11 * s, maxTicks: 9)
        #expect(step == 2 * s)
        #expect(ticks.map { ChartAxis.clockLabel($0, step: step) } == ["13:40:02", "13:40:04", "13:40:06", "13:40:08", "13:40:10"])
        let short = ChartAxis.timeTicks(start: start, end: start + s / 2, maxTicks: 6)
        #expect(short.step == 100_000_000)
        #expect(short.ticks.map { ChartAxis.clockLabel($0, step: short.step) }.first == "13:40:00.800")
        let hours = ChartAxis.timeTicks(start: start, end: start + 5 * 3600 * s, maxTicks: 8)
        #expect(hours.step == 3600 * s && hours.ticks.count == 5)
        #expect(ChartAxis.clockLabel(hours.ticks[0], step: hours.step) == "14:00:00")
    }

    @Test func durationLogAxis() {
        #expect(ChartAxis.durationDecades(min: 16_000, max: 118_000) == 4...6)
        #expect(ChartAxis.durationDecades(min: 0, max: 0) == 3...4)
        #expect(ChartAxis.durationDecades(min: 1_000_000, max: 1_000_000) == 6...7)
        #expect(ChartAxis.durationDecades(min: 9_823_000_000, max: 9_823_000_000) == 9...10)
        #expect((3...12).map(ChartAxis.decadeLabel) == ["1 µs", "10 µs", "100 µs", "1 ms", "10 ms", "100 ms", "1 s", "10 s", "100 s", "1000 s"])
        for d in 0...15 {
            var v = 1.0
            for _ in 0..<d { v *= 10 }
            #expect(abs(ChartAxis.log10(v) - Double(max(d, 3))) < 1e-9, "log10(1e\(d))")
        }
        #expect(abs(ChartAxis.log10(2_000) - 3.30103) < 1e-5)
        let x = LogScale(decades: 3...6, range: (0, 300))
        #expect(abs(x(1_000)) < 1e-9 && abs(x(1_000_000) - 300) < 1e-9 && abs(x(10_000) - 100) < 1e-9)
        #expect(abs(x(10)) < 1e-9 && abs(x(1e12) - 300) < 1e-9, "clamped to the axis")
    }

    @Test func logBinsRebinTheHistogram() {
        var h = DurationHistogram()
        for v: UInt64 in [1_000, 1_100, 10_000, 99_000, 100_000, 5_000_000_000] { h.record(v) }
        // 5 bins per decade: bin k covers 10^(k/5)…10^((k+1)/5) ns.
        #expect(HTMLReportModel.logBins(h) == [15: 2, 20: 1, 24: 1, 25: 1, 48: 1])
        #expect(h.buckets.reduce(0) { $0 + $1.count } == 6)
        #expect(h.buckets.allSatisfy { $0.low <= $0.high })
    }

    @Test func numbersForPeople() {
        #expect(ChartAxis.compact(950) == "950" && ChartAxis.compact(1_186) == "1.2k" && ChartAxis.compact(35_000) == "35k")
        #expect(ChartAxis.compact(1_250_000) == "1.3M" && ChartAxis.compact(2.5) == "2.5")
        #expect(ChartAxis.fixed(12.345, 1) == "12.3" && ChartAxis.fixed(-0.04, 1) == "0.0" && ChartAxis.fixed(0.05, 2) == "0.05")
        #expect(ChartAxis.duration(16_000) == "16 µs" && ChartAxis.duration(2_500) == "2.5 µs" && ChartAxis.duration(850_000) == "850 µs")
        #expect(ChartAxis.duration(53_120_000) == "53.1 ms" && ChartAxis.duration(9_470_000_000) == "9.47 s")
        #expect(ChartAxis.duration(200_000_000_000) == "3 min 20 s" && ChartAxis.duration(7_500_000_000_000) == "2 h 05 min")
    }

    @Test func bucketsMergePairwiseWhenTheLogOutgrowsThem() {
        var b = TimeBuckets(capacity: 4, initialWidth: 10, states: 2)
        var i = b.index(1_005, carrying: [0, 0])
        #expect(b.origin == 1_000 && i == 0)
        b.raise(i, to: [3, 1])
        b.countTransition(at: i)
        i = b.index(1_031, carrying: [3, 1])
        #expect(i == 3 && b.used == 4)
        #expect((0..<4).map { b.peak(bucket: $0, state: 0) } == [3, 3, 3, 3], "carried through the quiet buckets")
        b.raise(i, to: [5, 0])
        b.countTransition(at: i)
        b.markCensus(at: 1)
        // 1045 is past 4 buckets of 10: pairs merge, buckets of 20.
        i = b.index(1_045, carrying: [1, 0])
        #expect(b.width == 20 && i == 2 && b.used == 3)
        #expect((0..<3).map { b.peak(bucket: $0, state: 0) } == [3, 5, 1])
        #expect((0..<3).map { b.peak(bucket: $0, state: 1) } == [1, 1, 0])
        #expect(Array(b.transitions.prefix(3)) == [1, 1, 0] && Array(b.census.prefix(3)) == [true, false, false])
        // Far ahead: merges until it fits (width 80: 1000…1320).
        i = b.index(1_300, carrying: [0, 0])
        #expect(b.width == 80 && i == 3 && b.used == 4)
        #expect((0..<4).map { b.peak(bucket: $0, state: 0) } == [5, 0, 0, 0])
        #expect(b.transitions.prefix(4).reduce(0, +) == 2)
    }
}
