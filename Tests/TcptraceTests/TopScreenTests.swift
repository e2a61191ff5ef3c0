import Testing
@testable import TcptraceCore

/// `top`'s model and frames, from plain values: no terminal, no kernel.
@Suite struct TopScreenTests {
    static let s: UInt64 = 1_000_000_000
    static let t0 = WallTime(nanoseconds: 1_795_614_010_123_456_789)  // 13:40:10 UTC

    static func lingerer(cookie: UInt64, age: UInt64, holder: Owner?, fd: Int32?, lowerBound: Bool = false, remotePort: UInt16)
        -> LingererRecord
    {
        LingererRecord(
            event: .lingering, time: t0,
            identity: SocketIdentity(
                cookie: cookie, local: IPAddress("127.0.0.1")!, localPort: 8080, remote: IPAddress("127.0.0.1")!, remotePort: remotePort),
            holder: holder.map { .init(process: $0, fd: fd) }, inode: nil, ageNanoseconds: age, ageIsLowerBound: lowerBound,
            unreadBytes: 5)
    }

    static func histogram(_ values: [UInt64]) -> DurationHistogram {
        var h = DurationHistogram()
        for v in values { h.record(v) }
        return h
    }

    /// A busy host: a census, transitions, three lingerers, two TIME_WAIT destinations.
    static func busy() -> TopSnapshot {
        var x = TopSnapshot()
        x.time = t0
        x.uptimeNanoseconds = 125 * s
        x.intervalNanoseconds = 1 * s
        x.census = Census(
            time: t0, filter: CensusFilter(), portRange: .linuxDefault,
            states: [.established: 12, .timeWait: 340, .closeWait: 3, .listen: 2], total: 357, topTimeWait: [], topCloseWait: [],
            exhaustion: [])
        x.events = 5000
        x.eventsPerSecond = 420
        let pairs: [(TCPState, TCPState, Double)] = [
            (.close, .synSent, 100), (.synSent, .established, 100), (.established, .finWait1, 100), (.finWait1, .finWait2, 100),
            (.finWait2, .close, 100), (.listen, .synRecv, 10.5), (.synRecv, .established, 0.4),
        ]
        x.transitionRates = pairs.map { TopSnapshot.Rate(pair: StatePair($0.0, $0.1), perSecond: $0.2) }
        x.connectLatency = histogram([40_000, 50_000, 60_000, 2_000_000])
        x.recentConnectLatency = histogram([50_000])
        x.closeWaitThresholdNanoseconds = 30 * s
        x.lingerers = [
            lingerer(cookie: 1, age: 3725 * s, holder: Owner(pid: 4242, comm: "leaky"), fd: 7, lowerBound: true, remotePort: 40001),
            lingerer(cookie: 2, age: 95 * s, holder: Owner(pid: 4242, comm: "leaky"), fd: 9, remotePort: 40002),
            lingerer(cookie: 3, age: 31_500_000_000, holder: nil, fd: nil, remotePort: 40003),
        ]
        x.timeWaitTotal = 900
        x.timeWaitPerSecond = 99.5
        x.timeWaitTop = [
            .init(endpoint: .init(remote: IPAddress("10.0.0.5")!, remotePort: 5432), count: 800, perSecond: 99.5),
            .init(endpoint: .init(remote: IPAddress("2001:db8::1")!, remotePort: 443), count: 100, perSecond: 0),
        ]
        return x
    }

    func screen(_ width: Int, _ height: Int?, color: Bool = false) -> TopScreen {
        TopScreen(width: width, height: height, color: color, utcOffsetSeconds: 0)
    }

    @Test func wideTerminal() {
        let lines = screen(120, 40).lines(Self.busy())
        #expect(
            lines == [
                "tcptrace-bpf top  13:40:10  up 2m05s  420 transitions/s  lost 0  q: quit",
                "SOCKETS NOW  357 TCP sockets (sock_diag at 13:40:10)",
                "  ESTABLISHED     12  SYN_SENT         0  SYN_RECV         0  FIN_WAIT1        0  FIN_WAIT2        0",
                "  TIME_WAIT      340  CLOSE            0  CLOSE_WAIT       3  LAST_ACK         0  LISTEN           2",
                "  CLOSING          0",
                "TRANSITIONS/S  5000 since start (busiest 6 of 7 shown)",
                "  CLOSE>SYN_SENT             100  SYN_SENT>ESTABLISHED       100  ESTABLISHED>FIN_WAIT1      100",
                "  FIN_WAIT1>FIN_WAIT2        100  FIN_WAIT2>CLOSE            100  LISTEN>SYN_RECV           10.5",
                "CONNECT LATENCY  last 1.0s: p50 0.050 ms  p99 0.050 ms  (1)   since start: p50 0.050 ms  p99 2.000 ms  (4)",
                "",
                "CLOSE_WAIT LINGERERS  3 in CLOSE_WAIT over 30s  by holder: leaky[4242] 2 ?[0] 1",
                "  AGE       PID     COMM              FD  LOCAL                  REMOTE                 UNREAD",
                "  >1h02m    4242    leaky              7  127.0.0.1:8080         127.0.0.1:40001       5",
                "  1m35s     4242    leaky              9  127.0.0.1:8080         127.0.0.1:40002       5",
                "  31s       ?       ?                  -  127.0.0.1:8080         127.0.0.1:40003       5",
                "",
                "TIME_WAIT DESTINATIONS  900 connections closed into TIME_WAIT since start, 99.5/s now",
                "     SINCE START      NOW/S  DESTINATION",
                "             800       99.5  10.0.0.5:5432",
                "             100          0  [2001:db8::1]:443",
            ])
    }

    @Test func narrowTerminalCutsEveryLineAtItsWidth() {
        let wide = screen(120, 40).lines(Self.busy())
        let narrow = screen(44, 40).lines(Self.busy())
        #expect(narrow.allSatisfy { $0.utf8.count <= 44 })
        // Cells reflow (two states per line); every other line is the wide one, cut.
        #expect(narrow[2] == "  ESTABLISHED     12  SYN_SENT         0")
        #expect(narrow.contains(String(wide[12].prefix(44))))
        #expect(narrow.last == String(wide.last!.prefix(44)))
    }

    @Test func shortTerminalSharesRowsAndSaysWhatIsLeftOut() {
        var x = Self.busy()
        x.lingerers += (10...30).map { Self.lingerer(cookie: UInt64($0), age: 31 * Self.s, holder: nil, fd: nil, remotePort: UInt16(40000 + $0)) }
        let lines = screen(120, 18).lines(x)
        #expect(lines.count == 18)
        #expect(!lines.contains(""), "no blank separators below 24 rows")
        // 18 rows: 9 fixed, 2 titles, 2 column heads; 5 rows left: 3 for lingerers, 2 for destinations.
        #expect(lines[11] == "  >1h02m    4242    leaky              7  127.0.0.1:8080         127.0.0.1:40001       5")
        #expect(lines[13] == "  ... 22 more")
        #expect(lines[17] == "             100          0  [2001:db8::1]:443")
        // Too short for anything but the top: cut, never more rows than the terminal has.
        #expect(screen(120, 3).lines(x).count == 3)
        #expect(screen(1, 1).lines(x) == ["t"])
    }

    @Test func colourWrapsWholeLinesAndLeavesTheTextAsItIs() {
        var x = Self.busy()
        x.lost.ringBufferFull = 12
        x.recentlyLost = 2
        let plain = screen(100, 40).lines(x)
        let colour = screen(100, 40, color: true).lines(x)
        #expect(plain.allSatisfy { !$0.contains("\u{1b}") })
        #expect(plain[1] == "!! LOST EVENTS 12 (2 in the last interval): ring buffer full 12 (raise --ring-buffer-size)")
        #expect(colour[0].hasPrefix("\u{1b}[7m") && colour[0].hasSuffix(" \u{1b}[0m") && colour[0].utf8.count == 100 + 8, "the bar spans the width")
        #expect(colour[1] == "\u{1b}[1;37;41mLOST EVENTS 12 (2 in the last interval): ring buffer full 12 (raise --ring-buffer-size)\u{1b}[0m")
        let stripped = colour.map { line -> String in
            var l = line
            while let start = l.range(of: "\u{1b}[") {
                let end = l[start.upperBound...].firstIndex(of: "m")!
                l.removeSubrange(start.lowerBound...end)
            }
            return l
        }
        #expect(stripped.count == plain.count)
        for (a, b) in zip(stripped, plain) { #expect(a.trimmingSuffixSpaces == b || "!! " + a == b, "only the marker of lost events differs") }
    }

    @Test func emptyFirstFrame() {
        var x = TopSnapshot()
        x.time = Self.t0
        x.closeWaitThresholdNanoseconds = 5 * Self.s
        #expect(
            screen(80, nil).lines(x) == [
                "tcptrace-bpf top  13:40:10  up 0ms  0 transitions/s  lost 0  q: quit",
                "SOCKETS NOW  (first census pending)",
                "TRANSITIONS/S  0 since start",
                "  (rates from the second frame on)",
                "CONNECT LATENCY  since start: none",
                "CLOSE_WAIT LINGERERS  0 in CLOSE_WAIT over 5.0s",
                "  AGE       PID     COMM              FD  LOCAL                  REMOTE",
                "  none: no socket has been in CLOSE_WAIT longer than the threshold",
                "TIME_WAIT DESTINATIONS  0 connections closed into TIME_WAIT since start",
                "     SINCE START      NOW/S  DESTINATION",
                "  none yet",
            ])
    }

    @Test func framesOnATerminalRedrawInPlaceAndElsewhereFollowEachOther() {
        let sc = screen(80, 24)
        let x = Self.busy()
        let n = sc.lines(x).count
        let onScreen = String(decoding: sc.frame(x, terminal: true), as: UTF8.self)
        #expect(onScreen.hasPrefix("\u{1b}[H") && onScreen.hasSuffix("\u{1b}[K\u{1b}[J"))
        #expect(onScreen.components(separatedBy: "\r\n").count == n, "no newline after the last row: the screen never scrolls")
        let plain = String(decoding: screen(80, nil).frame(x, terminal: false), as: UTF8.self)
        #expect(!plain.contains("\u{1b}") && !plain.contains("\r"))
        #expect(plain.hasSuffix("\n\n") && plain.components(separatedBy: "\n\n").count == 2, "one blank line, at the end")
    }

    @Test func commandNamesAreDrawnInASCII() {
        var x = Self.busy()
        x.lingerers = [Self.lingerer(cookie: 1, age: 40 * Self.s, holder: Owner(pid: 7, comm: "bé\u{1b}[2J"), fd: 3, remotePort: 1)]
        let lines = screen(120, 40).lines(x)
        #expect(lines.contains { $0.hasPrefix("  40s       7       b???[2J            3  ") })
        #expect(lines.allSatisfy { $0.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7f } })
    }

    @Test func durations() {
        func d(_ ns: UInt64) -> String { TopScreen.duration(ns) }
        #expect(d(850_000_000) == "850ms")
        #expect(d(4_560_000_000) == "4.5s")
        #expect(d(59 * Self.s) == "59s")
        #expect(d(245 * Self.s) == "4m05s")
        #expect(d(3 * 3600 * Self.s + 7 * 60 * Self.s) == "3h07m")
        #expect(d(2 * 86_400 * Self.s + 4 * 3600 * Self.s) == "2d04h")
    }

    /// A leak group's row: the age and trend come before the endpoint and the opener, so an
    /// 80-column terminal still shows how old and whether it grows (the endpoint is cut there).
    @Test func leakGroupRowsKeepAgeAndTrendAt80Columns() {
        var x = Self.busy()
        var g = LeakRecord()
        g.holder = Owner(pid: 4242, comm: "leaky")
        g.role = .server
        g.address = IPAddress("127.0.0.1")!
        g.port = 8080
        g.cause = .unread
        g.sockets = 17
        g.oldestAgeNanoseconds = 3725 * Self.s
        g.ageIsLowerBound = true
        g.trend = .growing
        g.opener = "handle_client (server.py:42)"
        x.leakGroups = [g]
        let wide = screen(130, 40).lines(x)
        let head = "  SOCKETS  CAUSE         PID     COMM             OLDEST    TREND     ENDPOINT                       OPENER"
        let row = "  17       unread        4242    leaky            >1h02m    growing   on 127.0.0.1:8080              handle_client (server.py:42)"
        #expect(wide.contains(head) && wide.contains(row), "\(wide.joined(separator: "\n"))")
        let narrow = screen(80, 40).lines(x)
        #expect(narrow.contains(String(row.prefix(80))))
        #expect(String(row.prefix(80)).hasSuffix(">1h02m    growing   on 127.0.0"))
    }
}

/// What `top` remembers between frames.
@Suite struct TopModelTests {
    static let s = TopScreenTests.s
    static let t0 = TopScreenTests.t0

    func transition(_ cookie: UInt64, _ old: TCPState, _ new: TCPState, at ms: Int64, inOld: UInt64? = nil) -> Transition {
        Transition(
            time: WallTime(nanoseconds: Self.t0.nanoseconds + ms * 1_000_000),
            identity: SocketIdentity(cookie: cookie, local: IPAddress("127.0.0.1")!, localPort: 50000, remote: IPAddress("127.0.0.1")!, remotePort: 80),
            old: old, new: new, nanosecondsInOld: inOld, pid: 0, comm: "", owner: nil, inode: nil)
    }

    @Test func ratesAreTheDifferenceBetweenFrames() {
        var model = TopModel(closeWaitThresholdNanoseconds: 30 * Self.s, limit: 100)
        var summary = RunSummary(start: Self.t0)
        summary.record(transition(1, .close, .synSent, at: 0))
        let first = model.frame(summary: summary, lost: LostEvents(), now: Self.t0, monotonic: 10 * Self.s) { _ in true }
        #expect(first.intervalNanoseconds == 0 && first.transitionRates.isEmpty && first.events == 1)
        for c: UInt64 in 2...5 { summary.record(transition(c, .close, .synSent, at: 100)) }
        summary.record(transition(1, .synSent, .established, at: 200, inOld: 70_000))
        var lost = LostEvents()
        lost.ringBufferFull = 3
        let second = model.frame(summary: summary, lost: lost, now: Self.t0, monotonic: 12 * Self.s) { _ in true }
        #expect(second.intervalNanoseconds == 2 * Self.s)
        #expect(second.eventsPerSecond == 2.5)
        #expect(second.transitionRates == [.init(pair: StatePair(.close, .synSent), perSecond: 2), .init(pair: StatePair(.synSent, .established), perSecond: 0.5)])
        #expect(second.recentConnectLatency.count == 1 && second.connectLatency.count == 1)
        #expect(second.recentlyLost == 3)
        let third = model.frame(summary: summary, lost: lost, now: Self.t0, monotonic: 13 * Self.s) { _ in true }
        #expect(third.transitionRates.isEmpty && third.recentConnectLatency.count == 0 && third.recentlyLost == 0)
    }

    @Test func lingerersStayUntilClosedOrGoneFromTheTableAndAge() {
        var model = TopModel(closeWaitThresholdNanoseconds: 30 * Self.s, limit: 2)
        let owner = Owner(pid: 9, comm: "leaky")
        for c: UInt64 in 1...3 {
            model.note(TopScreenTests.lingerer(cookie: c, age: (30 + c) * Self.s, holder: owner, fd: Int32(c), remotePort: 1))
        }
        let later = WallTime(nanoseconds: Self.t0.nanoseconds + 10 * Int64(Self.s))
        var x = model.frame(summary: RunSummary(start: Self.t0), lost: LostEvents(), now: later, monotonic: 1) { _ in true }
        #expect(x.lingerers.map(\.identity.cookie) == [2, 1], "bounded at the limit, oldest first")
        #expect(x.lingerers.map(\.ageNanoseconds) == [42 * Self.s, 41 * Self.s])
        #expect(x.lingerersByHolder.map(\.count) == [2])
        var closed = TopScreenTests.lingerer(cookie: 2, age: 50 * Self.s, holder: owner, fd: 2, remotePort: 1)
        closed.event = .closed
        model.note(closed)
        x = model.frame(summary: RunSummary(start: Self.t0), lost: LostEvents(), now: later, monotonic: 2) { _ in true }
        #expect(x.lingerers.map(\.identity.cookie) == [1])
        x = model.frame(summary: RunSummary(start: Self.t0), lost: LostEvents(), now: later, monotonic: 3) { $0 != 1 }
        #expect(x.lingerers.isEmpty, "evicted from the table, or its close lost: gone")
    }

    @Test func aCensusRoundIsSummedOverNamespaces() {
        var model = TopModel(closeWaitThresholdNanoseconds: 30 * Self.s, limit: 2)
        func census(_ tw: Int, netns: UInt32) -> Census {
            var c = Census(time: Self.t0, filter: CensusFilter(), portRange: .linuxDefault, states: [.timeWait: tw], total: tw, topTimeWait: [], topCloseWait: [], exhaustion: [])
            c.netns = netns
            return c
        }
        model.note(censusRound: [census(3, netns: 1), census(4, netns: 2)])
        var x = model.frame(summary: RunSummary(start: Self.t0), lost: LostEvents(), now: Self.t0, monotonic: 1) { _ in true }
        #expect(x.census?.count(.timeWait) == 7 && x.census?.total == 7)
        model.note(censusRound: [census(1, netns: 1)])
        x = model.frame(summary: RunSummary(start: Self.t0), lost: LostEvents(), now: Self.t0, monotonic: 2) { _ in true }
        #expect(x.census?.count(.timeWait) == 1, "a new round replaces the last")
    }

    @Test func histogramDifference() {
        var h = DurationHistogram()
        for v: UInt64 in [10, 1000, 50_000] { h.record(v) }
        let earlier = h
        for v: UInt64 in [2_000_000, 3_000_000] { h.record(v) }
        let d = h.subtracting(earlier)
        #expect(d.count == 2)
        #expect(d.p50.map { $0 >= 2_000_000 && $0 < 2_020_000 } == true)
        #expect(d.max == 3_000_000 && d.min.map { $0 > 1_980_000 && $0 <= 2_000_000 } == true)
        #expect(h.subtracting(h).count == 0 && h.subtracting(h).p50 == nil)
    }
}

extension String {
    fileprivate var trimmingSuffixSpaces: Substring {
        var s = self[...]
        while s.last == " " { s.removeLast() }
        return s
    }

}
