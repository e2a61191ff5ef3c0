import Testing
@testable import TcptraceCore

/// CLOSE_WAIT leak groups (issue 22), with a fake clock: grouping, causes, records due, bounds,
/// and the records' JSON round trip.
@Suite struct LeakGroupsTests {
    static func at(_ s: Double) -> WallTime { WallTime(nanoseconds: 1_000_000_000_000 + Int64(s * 1e9)) }
    static let service = Owner(pid: 42, comm: "svc")
    static func key(_ cause: LeakCause, port: UInt16 = 80, stack: UInt32? = nil) -> LeakGroups.Key {
        .init(holder: service, role: .client, address: .v4(0x7f00_0001), port: port, cause: cause, stack: stack, opener: stack.map { "svc!f\($0)+0x1" })
    }

    @Test func causeFromTheDiagAnswer() {
        #expect(LeakCause(inode: 0, unreadBytes: 0) == .notAccepted)
        #expect(LeakCause(inode: 0, unreadBytes: 5) == .notAccepted)
        #expect(LeakCause(inode: 7, unreadBytes: 10) == .unread)
        #expect(LeakCause(inode: 7, unreadBytes: 0) == .notClosed)
    }

    @Test func groupsAppearChangeAndResolve() {
        var g = LeakGroups()
        for i in 0..<30 { g.add(cookie: UInt64(i), key: Self.key(.notClosed, stack: 1), entered: Self.at(0), lowerBound: false, now: Self.at(1)) }
        for i in 30..<50 { g.add(cookie: UInt64(i), key: Self.key(.unread, stack: 2), entered: Self.at(0.5), lowerBound: false, now: Self.at(1)) }
        let first = g.due(now: Self.at(1))
        #expect(first.map(\.event) == [.appeared, .appeared])
        #expect(first.map(\.sockets) == [30, 20])
        #expect(first[0].oldestAgeNanoseconds == 1_000_000_000)
        #expect(first[0].trend == .growing && first[0].newPerMinute == 30)
        #expect(first[0].opener == "svc!f1+0x1" && first[0].stack == 1)
        // One socket of 30 leaves: less than a tenth, nothing said; the trend stays growing.
        g.remove(cookie: 0, now: Self.at(2))
        #expect(g.due(now: Self.at(2)).isEmpty)
        // Three more leave: a tenth, said.
        for c in 1...3 as ClosedRange<UInt64> { g.remove(cookie: c, now: Self.at(3)) }
        let changed = g.due(now: Self.at(3))
        #expect(changed.map(\.event) == [.changed] && changed[0].sockets == 26 && changed[0].closedPerMinute == 4)
        // A minute later with no change: an interval record; the window has emptied: steady.
        let later = g.due(now: Self.at(70))
        #expect(later.map(\.trend) == [.steady, .steady])
        #expect(Set(later.map(\.event)) == [.changed])  // the trend changed from growing
        #expect(g.due(now: Self.at(131)).map(\.event) == [.interval, .interval])
        // All of a group leave: resolved, then forgotten.
        for c in 30..<50 as Range<UInt64> { g.remove(cookie: c, now: Self.at(140)) }
        let resolved = g.due(now: Self.at(140))
        #expect(resolved.map(\.event) == [.resolved] && resolved[0].sockets == 0)
        #expect(g.current(now: Self.at(141)).map(\.sockets) == [26])
    }

    @Test func groupsBeyondTheBoundAreFolded() {
        var g = LeakGroups(maxGroups: 2)
        for port in 1...5 as ClosedRange<UInt16> {
            g.add(cookie: UInt64(port), key: Self.key(.notClosed, port: port), entered: Self.at(0), lowerBound: true, now: Self.at(0))
        }
        let groups = g.current(now: Self.at(1))
        #expect(groups.count == 3)
        let folded = groups.filter(\.folded)
        #expect(folded.count == 1 && folded[0].sockets == 3 && folded[0].holder == nil)
        #expect(groups.allSatisfy { $0.ageIsLowerBound })
    }

    @Test func socketsBeyondTheBoundAreCounted() {
        var g = LeakGroups(maxSockets: 2)
        for c in 0..<5 as Range<UInt64> { g.add(cookie: c, key: Self.key(.unread), entered: Self.at(0), lowerBound: false, now: Self.at(0)) }
        #expect(g.socketCount == 2 && g.unkept == 3)
    }

    @Test func recordsRoundTripThroughJSON() throws {
        var g = LeakGroups()
        g.add(cookie: 1, key: Self.key(.unread, stack: 3), entered: Self.at(0), lowerBound: false, now: Self.at(2))
        let r = try #require(g.due(now: Self.at(2)).first)
        var line: [UInt8] = []
        JSONLines.append(r, to: &line)
        let text = String(decoding: line, as: UTF8.self)
        #expect(text.hasPrefix(#"{"type":"leak","v":1,"time":"#))
        #expect(text.contains(#""cause":"unread","holder":{"pid":42,"comm":"svc"}"#))
        line.removeLast()  // the newline
        let back = try RecordLineParser.read(line, as: LeakRecord.self).get()
        #expect(back == r)
        let s = StackRecord(time: Self.at(2), id: 3, pid: 42, frames: ["libc.so.6!connect+0x10", "svc!f3+0x1"], truncated: true)
        var sl: [UInt8] = []
        JSONLines.append(s, to: &sl)
        sl.removeLast()
        #expect(try RecordLineParser.read(sl, as: StackRecord.self).get() == s)
    }

    @Test func theSectionListsGroupsWithTheirStacks() {
        var g = LeakGroups()
        for i in 0..<30 { g.add(cookie: UInt64(i), key: Self.key(.notClosed, stack: 1), entered: Self.at(0), lowerBound: false, now: Self.at(1)) }
        for i in 30..<45 {
            g.add(
                cookie: UInt64(i), key: .init(holder: Self.service, role: .server, address: .v4(0), port: 8080, cause: .notAccepted),
                entered: Self.at(0), lowerBound: false, now: Self.at(1))
        }
        var out: [UInt8] = []
        let stacks: [UInt32: StackRecord] = [1: StackRecord(time: Self.at(1), id: 1, pid: 42, frames: ["libc.so.6!connect+0x10", "svc!f1+0x1"], truncated: true)]
        TextLines(utcOffsetSeconds: 0).appendLeakSection(g.current(now: Self.at(2)), stacks: stacks, to: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains("CLOSE_WAIT leaks: 2 groups, 45 sockets\n"))
        #expect(text.contains("  30     not_closed    42 (svc)                  client -> 127.0.0.1:80  oldest 2.0 s  +30 -0/min growing  opened at svc!f1+0x1\n"))
        #expect(text.contains("           svc!f1+0x1\n"))
        #expect(text.contains("  15     not_accepted  42 (svc)                  server on 0.0.0.0:8080"))
    }

    @Test func theBookKeepsTheLatestOfEachGroup() {
        var book = LeakBook()
        var r = LeakRecord()
        r.group = 1
        r.sockets = 3
        book.note(r)
        r.sockets = 5
        r.event = .exit
        book.note(r)
        var gone = LeakRecord()
        gone.group = 2
        gone.sockets = 1
        book.note(gone)
        gone.event = .resolved
        book.note(gone)
        #expect(book.groups.map(\.sockets) == [5])
    }
}

/// The leak metrics: bounded holders, causes always listed.
@Suite struct LeakMetricsTests {
    @Test func holdersBeyondTheTopAreSummed() {
        var groups: [LeakRecord] = []
        for i in 0..<15 {
            var r = LeakRecord()
            r.group = UInt32(i)
            r.holder = Owner(pid: UInt32(100 + i), comm: CommName("app\(i)"))
            r.sockets = UInt64(i + 1)
            r.oldestAgeNanoseconds = UInt64(i) * 1_000_000_000
            r.cause = i % 2 == 0 ? .unread : .notClosed
            groups.append(r)
        }
        var p = PrometheusText()
        p.leaks(groups)
        let lines = p.text.split(separator: "\n").filter { $0.hasPrefix("tcptrace_close_wait_leak_sockets{") }
        #expect(lines.count == 11)
        #expect(lines.contains(#"tcptrace_close_wait_leak_sockets{comm="other",container=""} 15"#))  // 1+2+3+4+5
        #expect(lines.contains(#"tcptrace_close_wait_leak_sockets{comm="app14",container=""} 15"#))
        #expect(p.text.contains(#"tcptrace_close_wait_leak_sockets_by_cause{cause="not_accepted"} 0"#))
        #expect(p.text.contains(#"tcptrace_close_wait_leak_oldest_seconds{comm="other",container=""} 4"#))
    }
}

/// `report` shows the groups a live run's log ends with, from its `leak` and `stack` records.
@Suite struct LeakReplayTests {
    @Test func replayReadsGroupsAndStacksBack() throws {
        var g = LeakGroups()
        let key = LeakGroups.Key(holder: Owner(pid: 7, comm: "svc"), role: .client, address: .v4(0x7f00_0001), port: 9, cause: .unread, stack: 1, opener: "svc!f+0x1")
        for c in 0..<20 as Range<UInt64> { g.add(cookie: c, key: key, entered: LeakGroupsTests.at(0), lowerBound: false, now: LeakGroupsTests.at(1)) }
        let stack = StackRecord(time: LeakGroupsTests.at(1), id: 1, pid: 7, frames: ["libc.so.6!connect+0x10", "svc!f+0x1"], truncated: true)
        var log: [UInt8] = []
        JSONLines.append(stack, to: &log)
        for r in g.due(now: LeakGroupsTests.at(1)) { JSONLines.append(r, to: &log) }
        let live = g.current(now: LeakGroupsTests.at(5))
        for r in live { JSONLines.append(r, to: &log) }
        var replay = Replay(table: ConnectionTable(capacity: 100, lingerThresholdNanoseconds: 1_000_000_000))
        for line in log.split(separator: UInt8(ascii: "\n")) {
            let bytes = Array(line)
            _ = bytes.withUnsafeBufferPointer { replay.feed(line: $0) { _ in } }
        }
        #expect(replay.leaks.groups == live)
        #expect(replay.leaks.stacks[1] == stack)
        let text = TextLines(utcOffsetSeconds: 0)
        var fromLog: [UInt8] = []
        var fromRun: [UInt8] = []
        text.appendLeakSection(replay.leaks.groups, stacks: replay.leaks.stacks, to: &fromLog)
        text.appendLeakSection(live, stacks: [1: stack], to: &fromRun)
        #expect(fromLog == fromRun && !fromRun.isEmpty, "report prints what the live run printed")
    }
}
