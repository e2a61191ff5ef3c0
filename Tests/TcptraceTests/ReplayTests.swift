import Testing
@testable import TcptraceCore

func jsonLine(_ t: Transition) -> [UInt8] {
    var out: [UInt8] = []
    JSONLines.append(t, to: &out)
    out.removeLast()  // the newline
    return out
}

func parse(_ text: String) -> Result<RecordLine, RecordLineError> { RecordLineParser.parse(Array(text.utf8)) }

/// Replays transitions written as JSON lines; returns what came out, in order.
func replay(_ lines: [[UInt8]], threshold: UInt64 = 1_000_000_000, window: Int64 = 1_000_000_000)
    -> (outputs: [Replay.Output], atEnd: [LingererRecord], replay: Replay)
{
    var r = Replay(
        table: ConnectionTable(lingerThresholdNanoseconds: threshold), reorderWindowNanoseconds: window, reorderCapacity: 1000)
    var outputs: [Replay.Output] = []
    for line in lines {
        _ = line.withUnsafeBufferPointer { r.feed(line: $0) { outputs.append($0) } }
    }
    let atEnd = r.finish { outputs.append($0) }
    return (outputs, atEnd, r)
}

extension Replay.Output {
    var connection: ConnectionRecord? { if case .connection(let c) = self { c } else { nil } }
    var lingerer: LingererRecord? { if case .lingerer(let l) = self { l } else { nil } }
}

@Suite struct RecordLineParserTests {
    @Test func roundTripsWhatJSONLinesWrites() throws {
        var t = sampleTransition()
        t.nanosecondsInOld = 1_234_000  // what µs precision keeps
        #expect(RecordLineParser.parse(jsonLine(t)) == .success(.transition(t)))
        // Escapes, IPv6, counters, nulls, an unknown state number.
        t.comm = "a\"b\\c\u{1}\tü/€"
        t.owner = Owner(pid: 9, comm: "x\ny")
        t.identity.local = IPAddress("::1")!
        t.identity.remote = IPAddress("2001:db8::2")!
        t.identity.netns = nil
        t.identity.cgroup = .max
        t.nanosecondsInOld = nil
        t.inode = nil
        t.receiveQueue = 5
        t.new = TCPState(rawValue: 99)
        t.counters = TCPCounters(bytesAcked: .max, bytesReceived: 1, totalRetransmissions: 2, smoothedRTTMicroseconds: 33)
        #expect(RecordLineParser.parse(jsonLine(t)) == .success(.transition(t)))
        // ms_in_old is written with µs precision: ns below that are gone.
        t.nanosecondsInOld = 1_234_567_891
        guard case .success(.transition(let back)) = RecordLineParser.parse(jsonLine(t)) else {
            Issue.record("did not parse")
            return
        }
        #expect(back.nanosecondsInOld == 1_234_567_000)
    }

    @Test func skipsUnknownFieldsAnyOrderAndSpacing() {
        let line = #"""
             { "extra" : [1, {"a": [true, false, null]}, "s\"\u00e9"], "new":"CLOSE" ,"old":"LAST_ACK","rport":2,"raddr":"10.0.0.2","lport":1,"laddr":"10.0.0.1","cookie":7,"time":"2026-11-25T13:40:10Z","v":1,"type":"transition","ms_in_old":1.5e0,"more":{"x":-1.25E+3}}
            """#
        guard case .success(.transition(let t)) = parse(line) else {
            Issue.record("\(parse(line))")
            return
        }
        #expect(t.identity.cookie == 7 && t.old == .lastAck && t.new == .close && t.identity.localPort == 1 && t.identity.remotePort == 2)
        #expect(t.identity.local == .v4(0x0a00_0001) && t.nanosecondsInOld == 1_500_000)
        #expect(t.pid == 0 && t.comm == "" && t.owner == nil, "optional fields may be absent")
        #expect(t.identity.netns == nil && t.identity.cgroup == nil, "lines from before netns and cgroup still read")
    }

    @Test func otherRecordTypesArePassedOver() {
        #expect(parse(#"{"type":"summary","v":1,"time":"2026-11-25T13:40:10Z","events":3,"lost":{"total":0}}"#)
            == .success(.other(type: "summary", time: WallTime(rfc3339: "2026-11-25T13:40:10Z"))))
        // A field shared with transitions, with another meaning, does not make it malformed.
        #expect(parse(#"{"type":"census","v":1,"time":"2026-11-25T13:40:10Z","old":5,"family":null}"#)
            == .success(.other(type: "census", time: WallTime(rfc3339: "2026-11-25T13:40:10Z"))))
        #expect(parse("   ") == .success(.blank))
    }

    @Test func versionOtherThanOneIsItsOwnError() {
        #expect(parse(#"{"type":"transition","v":2,"time":"2026-11-25T13:40:10Z"}"#) == .failure(.unsupportedVersion(2)))
        #expect(parse(#"{"v":0,"type":"summary"}"#) == .failure(.unsupportedVersion(0)))
    }

    @Test(arguments: [
        ("", nil),
        ("garbage", "expected a JSON object"),
        (#"{"type":"transition","v":1"#, "unterminated object"),
        (#"{"type":"transition","v":1,"time":"2026-11-25T13:40:10Z","cookie":1,"laddr":"1.2.3.4","lport":1,"raddr":"1.2.3.4","rport":2,"old":"CLOSE","new":"SYN_SENT"} x"#, "text after"),
        (#"{"type":"transition","v":1,"time":"2026-11-25T13:40:10Z"}"#, "no \"cookie\""),
        (#"{"type":"transition","v":1,"time":"yesterday","cookie":1}"#, "bad value for \"time\""),
        (#"{"type":"transition","v":1,"time":"2026-11-25T13:40:10Z","cookie":-1}"#, "bad value for \"cookie\""),
        (#"{"type":"transition","v":1,"time":"2026-11-25T13:40:10Z","cookie":1,"lport":65536}"#, "bad value for \"lport\""),
        (#"{"type":"transition","v":1,"old":"SLEEPING"}"#, "bad value for \"old\""),
        (#"{"type":"transition","v":1,"laddr":"1.2.3"}"#, "bad value for \"laddr\""),
        (#"{"type":"transition","v":1,"comm":"a\x"}"#, "bad escape"),
        (#"{"type":"transition","v":1,"comm":"\ud800"}"#, "bad escape"),
        (#"{"type":"transition","v":1,"owner":{"pid":"1"}}"#, "bad value for \"owner.pid\""),
        (#"{"v":1,"time":"2026-11-25T13:40:10Z"}"#, "no \"type\""),
        (#"{"type":"transition","time":"2026-11-25T13:40:10Z"}"#, "no \"v\""),
        (#"{"type":"x","n":nul}"#, "bad value"),
        (#"{"type":"x","n":01}"#, "bad value"),
        (String(repeating: "[", count: 100), "expected a JSON object"),
        (#"{"type":"x","n":"# + String(repeating: "[", count: 100), "nested too deeply"),
    ] as [(String, String?)])
    func malformedLinesSayWhy(line: String, mentions: String?) {
        switch parse(line) {
        case .success(let r):
            #expect(mentions == nil, "parsed: \(r)")
        case .failure(.unsupportedVersion(let v)):
            Issue.record("version \(v)")
        case .failure(let e):
            #expect(e.description.contains(mentions ?? "<none>"), "\(e)")
        }
    }
}

@Suite struct ReplayTests {
    /// A server socket that goes to CLOSE_WAIT at 0 ms and is closed at `closeAt` ms (nil: never).
    func leakedServer(cookie: UInt64, closeAt: Double?) -> [Transition] {
        var s = Script(cookie: cookie, lport: 80, rport: UInt16(40000 + cookie))
        var ts = [s.go(.listen, .synRecv, at: -10), s.go(.synRecv, .established, at: -9.5), s.go(.established, .closeWait, at: 0, rcvQueue: 4)]
        if let closeAt {
            ts.append(s.go(.closeWait, .lastAck, at: closeAt))
            ts.append(s.go(.lastAck, .close, at: closeAt + 0.1, counters: counters(acked: 1, received: 4)))
        }
        return ts
    }

    @Test func sameRecordsAsTheLiveTableInTheSameOrder() throws {
        var c = Script(cookie: 1, lport: 40000, rport: 80)
        let client = [
            c.go(.close, .synSent, at: 0), c.go(.synSent, .established, at: 0.5), c.go(.established, .finWait1, at: 100),
            c.go(.finWait1, .finWait2, at: 100.25), c.go(.finWait2, .close, at: 150, rcvQueue: 1, counters: counters(acked: 1002, received: 501)),
        ]
        var live = ConnectionTable()
        let expected = client.compactMap { live.apply($0).connection }
        let (outputs, atEnd, r) = replay(client.map(jsonLine))
        #expect(outputs.compactMap(\.connection) == expected)
        #expect(atEnd.isEmpty)
        #expect(r.stats.transitions == 5 && r.summary.connections == 1 && r.summary.events == 5)
    }

    @Test func lingererAtTheMomentItCrossesTheThresholdThenClosedThenEndOfLog() throws {
        // Cookie 5 lingers 3 s then closes; cookie 6 is still in CLOSE_WAIT when the log ends.
        var lines = (leakedServer(cookie: 5, closeAt: 3000) + leakedServer(cookie: 6, closeAt: nil)).sorted { $0.time < $1.time }.map(jsonLine)
        lines.append(Array(#"{"type":"summary","v":1,"time":"\#(Script.at(4500).rfc3339)"}"#.utf8))
        let (outputs, atEnd, r) = replay(lines)
        let lingerers = outputs.compactMap(\.lingerer)
        #expect(lingerers.map(\.event) == [.lingering, .lingering, .closed])
        #expect(lingerers[0].time == Script.at(1000) && lingerers[0].ageNanoseconds == 1_000_000_000, "exactly at the threshold")
        #expect(lingerers[2].identity.cookie == 5 && lingerers[2].ageNanoseconds == 3_000_000_000 && lingerers[2].unreadBytes == 3)
        #expect(lingerers[0].holder == .init(process: Owner(pid: 7, comm: "app"), fd: nil), "holder from the owner; no fd offline")
        #expect(atEnd.map(\.identity.cookie) == [6])
        #expect(atEnd.first?.ageNanoseconds == 4_500_000_000, "age at the end of the log (the summary's time)")
        #expect(r.summary.lingerersByHolder[Owner(pid: 7, comm: "app")] == 2)
        #expect(r.summary.end == Script.at(4500))
    }

    @Test func outOfOrderWithinTheWindowIsPutBack() throws {
        var a = Script(cookie: 1, lport: 40000, rport: 80)
        var b = Script(cookie: 2, lport: 40001, rport: 80)
        let ta = [a.go(.close, .synSent, at: 0), a.go(.synSent, .established, at: 1), a.go(.established, .close, at: 300)]
        let tb = [b.go(.close, .synSent, at: 2), b.go(.synSent, .established, at: 3), b.go(.established, .close, at: 200)]
        // b's close (200 ms) is written after a's (300 ms), 100 ms late: within a 1 s window.
        let lines = [ta[0], ta[1], tb[0], tb[1], ta[2], tb[2]].map(jsonLine)
        let (outputs, _, r) = replay(lines)
        #expect(outputs.compactMap(\.connection).map(\.identity.cookie) == [2, 1])
        #expect(r.stats.reordered == 1 && r.stats.late == 0)
        // With a 50 ms window, after a record at 400 ms, it comes too late: applied anyway, and counted.
        var listener = Script(cookie: 3, lport: 1, rport: 2)
        let lateLines = [ta[0], ta[1], tb[0], tb[1], ta[2], listener.go(.close, .listen, at: 400), tb[2]].map(jsonLine)
        let (late, _, r2) = replay(lateLines, window: 50_000_000)
        #expect(late.compactMap { $0.connection }.map(\.identity.cookie) == [1, 2])
        #expect(r2.stats.late == 1)
    }

    @Test func sinceAndUntilKeepAWindow() {
        var s = Script(cookie: 1, lport: 40000, rport: 80)
        let ts = [s.go(.close, .synSent, at: 0), s.go(.synSent, .established, at: 1), s.go(.established, .close, at: 300)]
        var r = Replay(table: ConnectionTable(), since: Script.at(0.5), until: Script.at(100))
        var out: [Replay.Output] = []
        for t in ts { r.feed(t) { out.append($0) } }
        _ = r.finish { out.append($0) }
        #expect(r.stats.outsideWindow == 2 && r.summary.events == 1 && out.isEmpty)
        #expect(r.summary.end == Script.at(1), "ends at the last record inside the window")
    }

    @Test func memoryFollowsOpenConnectionsNotTheLog() {
        var r = Replay(table: ConnectionTable(), reorderCapacity: 64)
        for i in 0..<20_000 {
            var s = Script(cookie: UInt64(i), lport: 40000, rport: 80)
            r.feed(s.go(.close, .synSent, at: Double(i))) { _ in }
            r.feed(s.go(.synSent, .close, at: Double(i) + 0.5)) { _ in }
        }
        #expect(r.table.count <= 1_100, "only the connections still open within the reorder window")
        #expect(r.pending.heap.count <= 65)
    }
}

/// Seeded random mutations of real lines: the parser never traps, and every line is either a
/// record or a counted error.
@Suite struct RecordLineFuzzTests {
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    static func corpus() -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var t = sampleTransition()
        lines.append(jsonLine(t))
        t.identity.local = IPAddress("::1")!
        t.identity.remote = IPAddress("fe80::1:2")!
        t.comm = "é\"\\\u{7}"
        t.owner = nil
        t.nanosecondsInOld = nil
        t.counters = TCPCounters(bytesAcked: 12, bytesReceived: 1, totalRetransmissions: 0, smoothedRTTMicroseconds: 9)
        lines.append(jsonLine(t))
        lines.append(Array(#"{"type":"summary","v":1,"time":"2026-11-25T13:46:16.514321169Z","duration_s":2.964,"events":12,"transitions":{"ESTABLISHED->FIN_WAIT1":1},"lost":{"ringbuf_full":0,"total":0},"lingerers":{"total":0,"by_holder":[{"pid":1,"comm":"x","count":1}]}}"#.utf8))
        lines.append(Array(#"{"type":"connection","v":1,"time":"2026-11-25T13:46:14.596276875Z","cookie":2,"timeline":[{"state":"ESTABLISHED","ms":73.000}],"connect_ms":null,"time_wait":true}"#.utf8))
        return lines
    }

    @Test func fiftyThousandMutations() {
        var rng = SplitMix64(state: 0x7c9_2026)
        let corpus = Self.corpus()
        let interesting: [UInt8] = Array(#"{}[]",:\0123456789.eE-+nultrfasu "#.utf8) + [0x00, 0x0a, 0x7f, 0xc3, 0xff]
        var replay = Replay(table: ConnectionTable(capacity: 1000))
        var parsed = 0, malformed = 0, versions = 0, blank = 0
        let iterations = 50_000
        for _ in 0..<iterations {
            var line = corpus[Int(rng.next() % UInt64(corpus.count))]
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                guard !line.isEmpty else { break }
                let at = Int(rng.next() % UInt64(line.count))
                switch rng.next() % 6 {
                case 0: line[at] ^= UInt8(1) << UInt8(rng.next() % 8)  // bit flip
                case 1: line.removeSubrange(at...)  // truncation
                case 2: line.insert(interesting[Int(rng.next() % UInt64(interesting.count))], at: at)
                case 3: line.remove(at: at)
                case 4: line[at] = interesting[Int(rng.next() % UInt64(interesting.count))]
                default:  // duplicate a span
                    let end = min(line.count, at + Int(rng.next() % 40))
                    line.insert(contentsOf: line[at..<end], at: at)
                }
            }
            var outcome: RecordLineError?
            var emitted = 0
            line.withUnsafeBufferPointer { outcome = replay.feed(line: $0) { _ in emitted += 1 } }
            switch outcome {
            case .malformed?, .badField?: malformed += 1
            case .unsupportedVersion?: versions += 1
            case nil: if case .success(.blank) = RecordLineParser.parse(line) { blank += 1 } else { parsed += 1 }
            }
        }
        _ = replay.finish { _ in }
        let s = replay.stats
        #expect(s.lines == UInt64(iterations))
        #expect(s.malformed == UInt64(malformed))
        #expect(s.transitions + s.otherRecords == UInt64(parsed), "every line is a record or a counted error")
        #expect(parsed + malformed + versions + blank == iterations)
        #expect(parsed > 1000 && malformed > 1000, "the mutations reach both outcomes (\(parsed) parsed, \(malformed) malformed)")
    }
}
