import Testing
@testable import TcptraceKernel
@testable import TcptraceHost
@testable import TcptraceCore

/// The per-event fast paths (stack-buffer digits, cached RFC 3339 second, dotted quads,
/// comm interning, array-backed summary counts, in-place table updates) against the plain
/// results they replace.
@Suite struct FastPathTests {
    @Test func decimalWidthsAndPadding() {
        func text(_ v: UInt64, _ w: Int) -> String {
            var out: [UInt8] = []
            out.appendThroughCursor(maxBytes: 32) { $0.decimal(v, width: w) }
            return String(decoding: out, as: UTF8.self)
        }
        #expect(text(0, 0) == "0")
        #expect(text(7, 3) == "007")
        #expect(text(123, 2) == "123")
        #expect(text(42, 9) == "000000042")
        #expect(text(999_999_999, 9) == "999999999")
        #expect(text(UInt64.max, 1) == "18446744073709551615")
        #expect(text(UInt64.max, 22) == "0018446744073709551615")
        #expect(text(5, 30) == String(repeating: "0", count: 29) + "5")
        for v: UInt64 in [1, 9, 10, 99, 100, 65535, 1 << 32, 10_000_000_000_000_000_000] {
            var out: [UInt8] = []
            out.appendThroughCursor(maxBytes: 32) { $0.decimal(v) }
            #expect(String(decoding: out, as: UTF8.self) == String(v))
        }
    }

    @Test func cachedRFC3339MatchesUncachedAcrossSecondsAndDays() {
        var cache = RFC3339Cache()
        let base: Int64 = 1_795_614_010_000_000_000
        let times: [Int64] = [
            base, base + 1, base + 999_999_999, base + 1_000_000_000, base + 86_400_000_000_000 - 1,
            base + 86_400_000_000_000, base, 0, -1, -1_000_000_001, 9_000_000_000_123_456_789,
        ]
        for ns in times {
            let t = WallTime(nanoseconds: ns)
            var plain: [UInt8] = []
            t.appendRFC3339(to: &plain)
            var cached: [UInt8] = [UInt8(ascii: "x")]
            cached.appendThroughCursor(maxBytes: 40) { t.appendRFC3339(to: &$0, cache: &cache) }
            #expect(cached.dropFirst().elementsEqual(plain), "\(ns)")
            #expect(WallTime(rfc3339: String(decoding: plain, as: UTF8.self)) == t)
        }
        var out: [UInt8] = []
        out.appendThroughCursor(maxBytes: 40) { WallTime(nanoseconds: base + 5).appendRFC3339(to: &$0, cache: &cache) }
        #expect(String(decoding: out, as: UTF8.self) == "2026-11-25T13:40:10.000000005Z")
    }

    @Test func dottedQuads() {
        for text in ["0.0.0.0", "127.0.0.1", "10.20.30.40", "255.255.255.255", "1.100.9.99", "192.168.100.200"] {
            #expect(IPAddress(text)!.text == text)
            var out: [UInt8] = []
            out.appendThroughCursor(maxBytes: 64) { IPAddress(text)!.append(to: &$0) }
            #expect(String(decoding: out, as: UTF8.self) == text)
        }
    }

    @Test func commNameFromKernelBytes() {
        typealias Comm = (CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar)
        func comm(_ bytes: [UInt8]) -> Comm {
            var c: Comm = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &c) { raw in for (i, b) in bytes.prefix(16).enumerated() { raw[i] = b } }
            return c
        }
        // Every length, with garbage after the NUL (the text ends there), as String(cString:) reads it.
        let letters = Array("abcdefghijklmnop".utf8)
        for n in 0...16 {
            var bytes = Array(letters[..<n])
            if n < 16 { bytes += [0] + letters[(n + 1)...] }
            let name = CommName(kernel: comm(bytes))
            let expected = String(decoding: letters[..<n], as: UTF8.self)
            #expect(name.description == expected, "\(n)")
            #expect(name == CommName(expected) && name.hashValue == CommName(expected).hashValue)
            #expect(name.count == n)
        }
        // Invalid UTF-8 is repaired as String(decoding:as:) does, even 16 bytes of it.
        #expect(CommName(kernel: comm([0x66, 0xff, 0x6f])).description == "f\u{FFFD}o")
        #expect(CommName(kernel: comm([0x66, 0xff, 0x6f])) == "f\u{FFFD}o")
        let invalid = CommName(kernel: comm([UInt8](repeating: 0xff, count: 16)))
        #expect(invalid.description == String(repeating: "\u{FFFD}", count: 16))
        #expect(invalid.count == CommName.capacity)
        #expect(CommName(kernel: comm(Array("é-ok".utf8))).description == "é-ok")
        // Text from elsewhere: cut at the capacity on a character boundary, and at a NUL.
        #expect(CommName(String(repeating: "x", count: 100)).description == String(repeating: "x", count: 48))
        #expect(CommName("a" + String(repeating: "é", count: 30)).description == "a" + String(repeating: "é", count: 23))
        #expect(CommName("ab\u{0}cd").description == "ab")
        #expect(CommName("storm") != CommName("storm2") && CommName("") == CommName())
    }

    @Test func summaryCountsKnownAndUnknownStates() {
        var s = RunSummary(start: WallTime(nanoseconds: 0))
        func t(_ old: UInt8, _ new: UInt8) -> Transition {
            Transition(
                time: WallTime(nanoseconds: 0), identity: SocketIdentity(cookie: 1, local: .v4(0), localPort: 0, remote: .v4(0), remotePort: 0), 
                old: TCPState(rawValue: old), new: TCPState(rawValue: new), nanosecondsInOld: nil, pid: 0, comm: "")
        }
        for _ in 0..<3 { s.record(t(2, 1)) }
        s.record(t(7, 10))
        s.record(t(200, 7))
        #expect(s.events == 5)
        #expect(s.transitionCounts == [StatePair(.synSent, .established): 3, StatePair(.close, .listen): 1,
                                       StatePair(TCPState(rawValue: 200), .close): 1])
        s.transitionCounts[StatePair(.listen, .close), default: 0] += 2
        #expect(s.transitionCounts[StatePair(.listen, .close)] == 2)
        #expect(s.transitionCounts[StatePair(.synSent, .established)] == 3)
    }

    @Test func closeWaitQueueDropsSocketsThatLeftCloseWait() {
        var table = ConnectionTable(lingerThresholdNanoseconds: 30_000_000_000)
        for c in 0..<5000 {
            var s = Script(cookie: UInt64(c), lport: 80, rport: UInt16(10000 + c % 50000))
            let ms = Double(c) * 0.01
            _ = table.apply(s.go(.listen, .synRecv, at: ms))
            _ = table.apply(s.go(.synRecv, .established, at: ms))
            _ = table.apply(s.go(.established, .closeWait, at: ms, rcvQueue: 1))
            _ = table.apply(s.go(.closeWait, .lastAck, at: ms))
            let outcome = table.apply(s.go(.lastAck, .close, at: ms, counters: counters(acked: 2, received: 2)))
            #expect(outcome.connection?.timeline.map(\.state) == [.synRecv, .established, .closeWait, .lastAck])
        }
        #expect(table.count == 0)
        #expect(table.closeWaitPending.isEmpty)
        #expect(table.closeWaitQueue.count - table.closeWaitHead <= 2048, "stale items are compacted as they pile up")
        // Long before the threshold: nothing is due, and nothing is waiting.
        #expect(table.dueLingerers(now: Script.at(100)).isEmpty)
        #expect(table.nextLingererDue == nil)
    }

    @Test func transitionLinesReadBackThroughTheirDeclaration() {
        let base = Transition(
            time: WallTime(nanoseconds: 1_795_614_010_123_456_789), identity: SocketIdentity(cookie: UInt64.max, local: IPAddress("127.0.0.1")!, localPort: 65535, remote: IPAddress("255.10.0.9")!, remotePort: 0),  old: .synSent, new: .established,
            nanosecondsInOld: 1_234_000, pid: 4_294_967_295, comm: "storm", owner: Owner(pid: 7, comm: "app"),
            inode: 99, receiveQueue: 1,
            counters: TCPCounters(bytesAcked: 1, bytesReceived: 2, totalRetransmissions: 3, smoothedRTTMicroseconds: 4))
        var variants = [base]
        var t = base
        t.identity.local = IPAddress("2001:db8::1")!
        t.identity.remote = IPAddress("::")!
        t.nanosecondsInOld = nil
        t.owner = nil
        t.inode = nil
        t.receiveQueue = nil
        t.counters = nil
        t.old = TCPState(rawValue: 255)
        t.comm = "a\"b\\c\n\u{1}é"
        variants.append(t)
        t.nanosecondsInOld = 999_000
        t.comm = CommName(String(repeating: "\u{1}", count: CommName.capacity))  // the longest escapes
        t.owner = Owner(pid: 1, comm: CommName(String(repeating: "\"", count: CommName.capacity)))
        variants.append(t)
        // One declaration writes and reads: each line reads back to the same value and the
        // value writes the same line again (with a warm and a cold time cache).
        var cache = RFC3339Cache()
        for v in variants {
            var line: [UInt8] = Array("prefix".utf8)
            JSONLines.append(v, to: &line, timeCache: &cache)
            let body = Array(line.dropFirst(6).dropLast())
            guard case .success(.transition(let back)) = RecordLineParser.parse(body) else {
                Issue.record("did not read back: \(String(decoding: body, as: UTF8.self))")
                continue
            }
            #expect(back == v)
            var again: [UInt8] = []
            JSONLines.append(back, to: &again)
            #expect(again == Array(line.dropFirst(6)))
        }
    }

    @Test func cursorDecimalsAndReservation() {
        var out: [UInt8] = [1, 2]
        out.appendThroughCursor(maxBytes: 64) { c in
            c.decimal(0)
            c.byte(32)
            c.decimal(UInt64.max)
            c.byte(32)
            c.decimal(42, width: 5)
            c.byte(32)
            c.decimal(123_456, width: 3)
        }
        #expect(out.count == 2 + 1 + 1 + 20 + 1 + 5 + 1 + 6)
        #expect(String(decoding: out.dropFirst(2), as: UTF8.self) == "0 18446744073709551615 00042 123456")
    }

    @Test func cursorDecimalsAtEveryPowerOfTen() {
        var values: [UInt64] = [0, UInt64.max]
        var p: UInt64 = 1
        for _ in 0..<20 {
            values += [p &- 1, p, p &+ 1, p &* 2 &- 1]
            p = p &* 10
        }
        for v in values {
            for width in [0, 1, 3, 9, 21] {
                var fast: [UInt8] = []
                fast.appendThroughCursor(maxBytes: 32) { $0.decimal(v, width: width) }
                #expect(String(decoding: fast, as: UTF8.self) == TextLayout.zeroPadded(v, width), "\(v) width \(width)")
            }
        }
    }

    @Test func cursorOctets() {
        for v in 0...255 {
            var out: [UInt8] = []
            out.appendThroughCursor(maxBytes: 4) { $0.octet(UInt8(v)) }
            #expect(String(decoding: out, as: UTF8.self) == String(v))
        }
    }

    @Test func stateNamesStaticAndDynamic() {
        for raw in 0...255 {
            let s = TCPState(rawValue: UInt8(raw))
            var out: [UInt8] = []
            out.appendThroughCursor(maxBytes: 32) { $0.state(s) }
            #expect(String(decoding: out, as: UTF8.self) == s.name)
        }
    }

    @Test func addressFromWordsMatchesBytes() {
        let samples: [[UInt8]] = [
            [127, 0, 0, 1] + [UInt8](repeating: 0, count: 12),
            [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 10, 1, 2, 3],
            [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1],
            [UInt8](repeating: 0, count: 15) + [1],
            [UInt8](repeating: 0xff, count: 16),
        ]
        for b in samples {
            for family in [AddressFamily.ipv4, .ipv6] {
                var hi: UInt64 = 0, lo: UInt64 = 0
                for i in 0..<8 { hi = hi << 8 | UInt64(b[i]); lo = lo << 8 | UInt64(b[8 + i]) }
                #expect(IPAddress(family: family, high: hi, low: lo) == IPAddress(family: family, bytes: b))
                let tuple = b.withUnsafeBytes { $0.loadUnaligned(as: EventDecoder.AddressBytes.self) }
                #expect(EventDecoder.address(family, tuple) == IPAddress(family: family, bytes: b))
            }
        }
    }

    @Test func longestTransitionLineFitsTheCursorBound() {
        let wide = IPAddress("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")!
        let t = Transition(
            time: WallTime(nanoseconds: Int64.max), identity: SocketIdentity(cookie: UInt64.max, local: wide, localPort: 65535, remote: wide, remotePort: 65535),
             old: TCPState(rawValue: 255), new: TCPState(rawValue: 254), nanosecondsInOld: UInt64.max / 1000 * 1000,
            pid: UInt32.max, comm: "", owner: Owner(pid: UInt32.max, comm: ""), inode: UInt64.max, receiveQueue: UInt32.max,
            counters: TCPCounters(
                bytesAcked: UInt64.max, bytesReceived: UInt64.max, totalRetransmissions: UInt32.max,
                smoothedRTTMicroseconds: UInt32.max))
        var fast: [UInt8] = []
        var cache = RFC3339Cache()
        JSONLines.append(t, to: &fast, timeCache: &cache)
        // The reservation comes from the declaration's bounds; the longest line stays within it.
        #expect(fast.count <= t.maxLineBytes())
        #expect(fast.count > 500)
        guard case .success(.transition(let back)) = RecordLineParser.parse(Array(fast.dropLast())) else {
            Issue.record("did not read back")
            return
        }
        #expect(back == t)
    }

    @Test func cursorCopiesEveryLengthExactly() {
        let source = (0..<80).map { UInt8(33 + $0) }
        for n in 0...80 {
            var out: [UInt8] = [0]
            out.appendThroughCursor(maxBytes: 100) { c in
                source.withUnsafeBytes { c.bytes(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
                c.byte(0)
            }
            #expect(out == [0] + source[..<n] + [0], "\(n)")
        }
    }

    @Test func connectionLinesReadBackThroughTheirDeclaration() {
        let wide = IPAddress("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")!
        var longest = ConnectionRecord(
            time: WallTime(nanoseconds: Int64.max), identity: SocketIdentity(cookie: UInt64.max, local: wide, localPort: 65535, remote: wide, remotePort: 65535),
             role: .listener, owner: Owner(pid: UInt32.max, comm: ""),
            timeline: (0..<12).map { .init(state: TCPState(rawValue: 200 + UInt8($0)), nanoseconds: UInt64.max / 1000 * 1000) },
            connectNanoseconds: UInt64.max / 1000 * 1000, lifetimeNanoseconds: UInt64.max / 1000 * 1000, closedBy: .unknown, timeWaitState: nil,
            partial: false)
        longest.bytesSent = UInt64.max
        longest.bytesReceived = UInt64.max
        longest.retransmissions = UInt32.max
        longest.smoothedRTTMicroseconds = UInt32.max
        var plainRecord = ConnectionRecord(
            time: WallTime(nanoseconds: 1_795_614_010_000_000_001), identity: SocketIdentity(cookie: 5, local: IPAddress("127.0.0.1")!, localPort: 80, remote: IPAddress("10.0.0.2")!, remotePort: 40000),  role: .server,
            owner: Owner(pid: 9, comm: "we\"ird\u{1}"), timeline: [.init(state: .synRecv, nanoseconds: nil)],
            connectNanoseconds: nil, lifetimeNanoseconds: 12_000, closedBy: .remote, timeWaitState: .finWait2, partial: true)
        var noOwner = plainRecord
        noOwner.owner = nil
        noOwner.timeline = []
        plainRecord.bytesSent = 0
        var huge = plainRecord
        // Far past the old fixed 4 KiB cursor bound: the reservation grows with the timeline.
        huge.timeline = (0..<1000).map { .init(state: .established, nanoseconds: UInt64($0) * 1_001_000) }
        var cache = RFC3339Cache()
        for r in [longest, plainRecord, noOwner, huge] {
            var line: [UInt8] = [7]
            JSONLines.append(r, to: &line, timeCache: &cache)
            #expect(line.count - 1 <= r.maxLineBytes())
            let back = RecordLineParser.read(Array(line.dropFirst().dropLast()), as: ConnectionRecord.self)
            guard case .success(.some(let record)) = back else {
                Issue.record("did not read back: \(back)")
                continue
            }
            #expect(record == r)
        }
        #expect(huge.maxLineBytes() > 4096)
    }
}
