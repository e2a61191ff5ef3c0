import Foundation
import Testing
@testable import TcptraceCore

/// A fixed transition: 2026-11-25T13:40:10.123456789Z, client side of 127.0.0.1:40832 -> :8080,
/// in the initial network namespace (4026531840) and cgroup 7321.
func sampleTransition() -> Transition {
    Transition(
        time: WallTime(nanoseconds: 1_795_614_010_123_456_789), identity: SocketIdentity(cookie: 4242, local: IPAddress("127.0.0.1")!, localPort: 40832, remote: IPAddress("127.0.0.1")!, remotePort: 8080, netns: 4_026_531_840, cgroup: 7321),
        old: .synSent, new: .established, nanosecondsInOld: 1_234_567, pid: 0, comm: "swapper/1",
        owner: Owner(pid: 1234, comm: "curl"), inode: 99)
}

@Suite struct FormattingTests {
    @Test func rfc3339() {
        #expect(WallTime(nanoseconds: 0).rfc3339 == "1970-01-01T00:00:00.000000000Z")
        #expect(WallTime(nanoseconds: 1_795_614_010_123_456_789).rfc3339 == "2026-11-25T13:40:10.123456789Z")
        #expect(WallTime(nanoseconds: 951_782_400_000_000_001).rfc3339 == "2000-02-29T00:00:00.000000001Z")
        #expect(WallTime(nanoseconds: -1).rfc3339 == "1969-12-31T23:59:59.999999999Z")
        for ns: Int64 in [0, 1_795_614_010_123_456_789, 951_782_400_000_000_001, -1] {
            #expect(WallTime(rfc3339: WallTime(nanoseconds: ns).rfc3339)?.nanoseconds == ns)
        }
        #expect(WallTime(rfc3339: "2026-11-25T14:40:10.5+01:00")?.nanoseconds == 1_795_614_010_500_000_000)
        #expect(WallTime(rfc3339: "2026-11-25 garbage") == nil)
        #expect(WallTime(rfc3339: "9999-12-31T23:59:59.999999999Z") == nil, "past Int64 nanoseconds (2262): nil, not a trap")
    }

    @Test func monotonicToWall() {
        let c = MonotonicToWall(wallNow: WallTime(nanoseconds: 1_000_000_000_000), monotonicNowNs: 5_000)
        #expect(c.wall(5_000).nanoseconds == 1_000_000_000_000)
        #expect(c.wall(6_000).nanoseconds == 1_000_000_001_000)
    }

    @Test func jsonTransitionGolden() {
        var out: [UInt8] = []
        JSONLines.append(sampleTransition(), to: &out)
        #expect(
            String(decoding: out, as: UTF8.self)
                == #"{"type":"transition","v":1,"time":"2026-11-25T13:40:10.123456789Z","cookie":4242,"family":"ipv4","laddr":"127.0.0.1","lport":40832,"raddr":"127.0.0.1","rport":8080,"netns":4026531840,"cgroup":7321,"container":null,"old":"SYN_SENT","new":"ESTABLISHED","ms_in_old":1.234,"pid":0,"comm":"swapper/1","owner":{"pid":1234,"comm":"curl"},"inode":99,"rcv_queue":null,"tcp":null}"#
                + "\n")
    }

    @Test func jsonUnknownsAreNullAndStringsEscaped() {
        var t = sampleTransition()
        t.owner = nil
        t.inode = nil
        t.nanosecondsInOld = nil
        t.comm = "a\"b\\c\u{1}"
        t.new = TCPState(rawValue: 99)
        t.identity.local = IPAddress("::1")!
        t.identity.remote = IPAddress("2001:db8::2")!
        t.identity.netns = nil
        t.identity.cgroup = nil
        t.counters = TCPCounters(bytesAcked: 7, bytesReceived: 1, totalRetransmissions: 2, smoothedRTTMicroseconds: 33)
        var out: [UInt8] = []
        JSONLines.append(t, to: &out)
        #expect(
            String(decoding: out, as: UTF8.self)
                == #"{"type":"transition","v":1,"time":"2026-11-25T13:40:10.123456789Z","cookie":4242,"family":"ipv6","laddr":"::1","lport":40832,"raddr":"2001:db8::2","rport":8080,"netns":null,"cgroup":null,"container":null,"old":"SYN_SENT","new":"UNKNOWN_99","ms_in_old":null,"pid":0,"comm":"a\"b\\c\u0001","owner":null,"inode":null,"rcv_queue":null,"tcp":{"bytes_acked":7,"bytes_received":1,"retransmits":2,"srtt_us":33,"sk_err":0}}"#
                + "\n")
    }

    @Test func jsonSummaryGolden() {
        var s = RunSummary(start: WallTime(nanoseconds: 1_795_614_010_000_000_000))
        s.end = WallTime(nanoseconds: 1_795_614_012_500_000_000)
        var t = sampleTransition()
        s.record(t)
        s.record(t)
        t.old = .close
        t.new = .synSent
        s.record(t)
        s.lost.ringBufferFull = 5
        s.lost.recursionMisses = 1
        s.kernel.seen = 8
        s.kernel.filtered = 0
        s.kernel.ringBufferFull = 5
        s.connections = 1
        s.tableEvictions = 4
        var l = LingererRecord(
            event: .lingering, time: s.end, identity: SocketIdentity(cookie: 1, local: .v4(1), localPort: 80, remote: .v4(2), remotePort: 9), 
            holder: .init(process: Owner(pid: 99, comm: "leaky"), fd: 5), inode: nil, ageNanoseconds: 0, ageIsLowerBound: false, unreadBytes: nil)
        s.record(l)
        s.record(l)
        l.event = .closed
        s.record(l)
        l.event = .lingering
        l.holder = nil
        s.record(l)
        let tw = ConnectionRecord(
            time: s.end, identity: SocketIdentity(cookie: 5, local: .v4(1), localPort: 40000, remote: IPAddress("10.0.0.9")!, remotePort: 5432), 
            role: .client, owner: nil, timeline: [], connectNanoseconds: nil, lifetimeNanoseconds: nil, closedBy: .local,
            timeWaitState: .timeWait, partial: false)
        s.timeWait.record(tw)
        s.timeWait.record(tw)
        var noTW = tw
        noTW.timeWaitState = nil
        s.timeWait.record(noTW)
        s.timeWaitOverflow = 0
        var out: [UInt8] = []
        JSONLines.append(s, to: &out)
        #expect(
            String(decoding: out, as: UTF8.self)
                == #"{"type":"summary","v":1,"time":"2026-11-25T13:40:12.500000000Z","duration_s":2.500,"events":3,"transitions":{"SYN_SENT->ESTABLISHED":2,"CLOSE->SYN_SENT":1},"lost":{"ringbuf_full":5,"recursion_misses":1,"undecodable":0,"unseen":0,"total":6},"kernel":{"seen":8,"filtered":0,"no_storage":0,"ring_records":0,"nested":0,"skips_counted":false},"connections":1,"lingerers":{"total":3,"by_holder":[{"pid":99,"comm":"leaky","count":2},{"pid":0,"comm":"?","count":1}]},"table_evictions":4,"open_connections":0,"vanished_connections":0,"durations_ms":{"SYN_SENT":{"count":2,"p50":1.234,"p90":1.234,"p99":1.234,"max":1.234},"CLOSE":{"count":1,"p50":1.234,"p90":1.234,"p99":1.234,"max":1.234}},"connect_latency_ms":{"count":2,"p50":1.234,"p90":1.234,"p99":1.234,"max":1.234},"time_wait":{"total":2,"per_s":0.800,"top":[{"raddr":"10.0.0.9","rport":5432,"count":2,"per_s":0.800}],"overflow":0},"failed_connects":0,"failed_connects_by_reason":{},"time_wait_makers":[],"port_pressure_warnings":0}"#
                + "\n")
    }

    @Test func textHeaderMatchesTheColumns() {
        // The header comes from the same declaration as the lines: each head starts where its
        // column does.
        var out: [UInt8] = []
        TextLines(utcOffsetSeconds: 0).append(sampleTransition(), to: &out)
        let line = String(decoding: out, as: UTF8.self)
        #expect(TextLines.header == "TIME            COOKIE   LADDR:LPORT                RADDR:RPORT                CONTAINER     OLD          -> NEW          MS_IN_OLD  OWNER\n")
        for (head, value) in [("COOKIE", "4242"), ("LADDR", "127.0.0.1:40832"), ("OLD", "SYN_SENT"), ("MS_IN_OLD", "1.234"), ("OWNER", "1234 (curl)")] {
            #expect(TextLines.header.range(of: head)?.lowerBound.utf16Offset(in: TextLines.header) == line.range(of: value)?.lowerBound.utf16Offset(in: line), "\(head)")
        }
    }

    @Test func textGolden() {
        var out: [UInt8] = []
        let text = TextLines(utcOffsetSeconds: 3600)
        text.append(sampleTransition(), to: &out)
        var t = sampleTransition()
        t.owner = nil
        t.nanosecondsInOld = nil
        t.identity.local = IPAddress("::1")!
        t.identity.remote = IPAddress("::1")!
        text.append(t, to: &out)
        #expect(
            String(decoding: out, as: UTF8.self) == """
                14:40:10.123456 4242     127.0.0.1:40832            127.0.0.1:8080             -             SYN_SENT     -> ESTABLISHED  1.234      1234 (curl)
                14:40:10.123456 4242     [::1]:40832                [::1]:8080                 -             SYN_SENT     -> ESTABLISHED  -          -

                """)
    }

    @Test func summaryPercentilesPerState() {
        var s = RunSummary(start: WallTime(nanoseconds: 0))
        var t = sampleTransition()
        for ms in 1...100 {
            t.nanosecondsInOld = UInt64(ms) * 1_000_000
            s.record(t)
        }
        t.old = .established
        t.new = .finWait1
        t.nanosecondsInOld = nil
        s.record(t)
        let h = s.stateDurations[Int(TCPState.synSent.rawValue)]
        #expect(h.count == 100)
        #expect(abs(Double(h.p50!) - 50e6) <= 50e6 / 128)
        #expect(abs(Double(h.p99!) - 99e6) <= 99e6 / 128)
        #expect(h.max == 100_000_000)
        #expect(s.connectLatency.count == 100)
        #expect(s.measuredStates.map(\.state) == [.synSent], "unknown durations are not measured")
        var out: [UInt8] = []
        TextLines(utcOffsetSeconds: 0).appendSummary(s, to: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains("  SYN_SENT                      100     50.069     90.177     99.090    100.000"))
        #expect(text.contains("  connect latency               100"))
    }

    @Test func textSummaryNamesLosses() {
        var s = RunSummary(start: WallTime(nanoseconds: 0))
        s.end = WallTime(nanoseconds: 3_000_000_000)
        s.record(sampleTransition())
        s.lost.ringBufferFull = 2
        var out: [UInt8] = []
        TextLines(utcOffsetSeconds: 0).appendSummary(s, to: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains("1 transitions in 3.0 s"))
        #expect(text.contains("SYN_SENT -> ESTABLISHED"))
        #expect(text.contains("lost events: 2 (ring buffer full 2, recursion misses 0, undecodable 0, unseen 0)"))
    }

    /// Decimal digits of every length (the four-digit steps and the pair loop meet at each
    /// power of ten) and zero-padded widths, against the standard library's.
    @Test func decimalsOfEveryLength() {
        var rng = RecordLineFuzzTests.SplitMix64(state: 10)
        var values: [UInt64] = [0, 9, 10, 99, 100, 9_999, 10_000, 99_999, 100_000, UInt64.max, UInt64.max - 1]
        var p: UInt64 = 1
        for _ in 0..<19 {
            values += [p - 1, p, p + 1, p * 5 + 3]
            p *= 10
        }
        for _ in 0..<5_000 { values.append(rng.next() >> (rng.next() % 64)) }
        var wrong: [String] = []
        for v in values {
            for width in [1, 2, 3, 5, 9, 12, 21] {
                var out: [UInt8] = []
                out.appendThroughCursor(maxBytes: 32) { c in c.decimal(v, width: width) }
                let plain = String(v)
                let expected = String(repeating: "0", count: max(0, width - plain.count)) + plain
                if String(decoding: out, as: UTF8.self) != expected { wrong.append("\(v)/\(width)") }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        // Every value of the short path (below 100,000) and just past it, and every
        // 32-bit length at each place value (the 32-bit path), unpadded.
        var out: [UInt8] = []
        var edges: [UInt64] = []
        for e in 5...9 {
            let p = UInt64(pow(10.0, Double(e)).rounded())
            for d in UInt64(1)...9 { edges += [d * p - 1, d * p, d * p + 1, d * p + 99_999, d * p + 100_000] }
        }
        edges += [UInt64(UInt32.max) - 1, UInt64(UInt32.max), UInt64(UInt32.max) + 1, 4_026_531_833, 277_139_753]
        for _ in 0..<20_000 { edges.append(rng.next() % (UInt64(UInt32.max) + 2)) }
        for v in Array(UInt64(0)...100_010) + edges {
            out.removeAll(keepingCapacity: true)
            out.appendThroughCursor(maxBytes: 32) { c in c.decimal(v) }
            if out.elementsEqual(String(v).utf8) == false { wrong.append("\(v)") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    /// Small bounds are reserved in the array and written in place; a large one (a census line
    /// with long lists) goes through temporary memory, so the array keeps no room for it.
    @Test func cursorBoundsAndReservedRoom() {
        var big: [UInt8] = []
        big.appendThroughCursor(maxBytes: 1 << 20) { c in c.ascii("hello") }
        #expect(String(decoding: big, as: UTF8.self) == "hello")
        #expect(big.capacity < 4096, "capacity \(big.capacity) after a 1 MiB bound")
        var small: [UInt8] = Array("a".utf8)
        small.appendThroughCursor(maxBytes: 100) { c in
            c.ascii("hi")
            c.decimal(12345)
        }
        #expect(String(decoding: small, as: UTF8.self) == "ahi12345")
        #expect(small.capacity >= 1 + 100 + ByteCursor.overrun, "reserved in place")
    }

    @Test func numbers() {
        var out: [UInt8] = []
        out.appendThroughCursor(maxBytes: 80) { c in
            c.decimal(0)
            c.byte(32)
            c.decimal(UInt64.max)
            c.byte(32)
            Signed<Int64>.json(Int64.min, &c)
            c.byte(32)
            c.hex(0)
            c.byte(32)
            c.hex(0xdb8)
        }
        #expect(String(decoding: out, as: UTF8.self) == "0 18446744073709551615 -9223372036854775808 0 db8")
        #expect(TextLayout.fixed(1_234_567, scaleDigits: 6, decimals: 3) == "1.234")
        #expect(TextLayout.fixed(999, scaleDigits: 6, decimals: 3) == "0.000")
        #expect(TextLayout.fixed(58, scaleDigits: 1, decimals: 0) == "5")
        #expect(TextLayout.zeroPadded(7, 3) == "007" && TextLayout.zeroPadded(1234, 2) == "1234")
    }
}

@Suite struct AddressTests {
    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "0.0.0.0"), ("255.255.255.255", "255.255.255.255"),
        ("::1", "::1"), ("::", "::"), ("2001:db8::1", "2001:db8::1"), ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("fe80::1:0:0:1", "fe80::1:0:0:1"), ("1:0:0:2:0:0:0:3", "1:0:0:2::3"), ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"), ("::ffff:10.1.2.3", "10.1.2.3"), ("::ffff:7f00:1", "127.0.0.1"),
    ])
    func roundTrip(input: String, expected: String) throws {
        let a = try #require(IPAddress(input))
        #expect(a.text == expected)
        #expect(IPAddress(a.text) == a)
    }

    @Test func fromKernelBytes() {
        #expect(IPAddress(family: .ipv4, bytes: [127, 0, 0, 1] + [UInt8](repeating: 0, count: 12)).text == "127.0.0.1")
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7]
        #expect(IPAddress(family: .ipv6, bytes: mapped) == .v4(0xc000_0207))
        #expect(IPAddress(family: .ipv6, bytes: mapped).family == .ipv4)
        var loop = [UInt8](repeating: 0, count: 16)
        loop[15] = 1
        #expect(IPAddress(family: .ipv6, bytes: loop).text == "::1")
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1::2::3", "12345::", "g::1", "1:2:3:4:5:6:7:8:9", ":::"])
    func rejectsGarbage(_ text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func states() {
        #expect(TCPState.closeWait.name == "CLOSE_WAIT")
        #expect(TCPState(name: "FIN_WAIT2") == .finWait2)
        #expect(TCPState(rawValue: 200).name == "UNKNOWN_200")
        #expect(TCPState(name: "UNKNOWN_200") == TCPState(rawValue: 200))
        #expect(TCPState(name: "BOGUS") == nil)
    }
}

@Suite struct OptionValueTests {
    @Test(arguments: [
        ("500ms", 500_000_000), ("10s", 10_000_000_000), ("5m", 300_000_000_000), ("1h", 3_600_000_000_000),
        ("1.5s", 1_500_000_000), ("2", 2_000_000_000), ("250us", 250_000), ("100ns", 100),
    ] as [(String, UInt64)])
    func durations(text: String, ns: UInt64) throws {
        #expect(try OptionValues.duration(text) == ns)
    }

    @Test(arguments: ["", "abc", "-1s", "10x", "0s", "s", "1e3s", "5 m m"])
    func badDurations(_ text: String) {
        #expect(throws: ValueParseError.self) { try OptionValues.duration(text) }
    }

    @Test func ports() throws {
        #expect(try OptionValues.ports("80,443, 8080", max: 8) == [80, 443, 8080])
        #expect(try OptionValues.ports("80,80", max: 8) == [80])
        for bad in ["0", "65536", "a", "80,", ",80", "1,2,3,4,5,6,7,8,9", "-1"] {
            #expect(throws: ValueParseError.self) { try OptionValues.ports(bad, max: 8) }
        }
    }

    @Test func sizes() throws {
        #expect(try OptionValues.byteSize("4096", min: 4096, max: 1 << 30) == 4096)
        #expect(try OptionValues.byteSize("256K", min: 4096, max: 1 << 30) == 262_144)
        #expect(try OptionValues.byteSize("8m", min: 4096, max: 1 << 30) == 8 << 20)
        #expect(try OptionValues.byteSize("1G", min: 4096, max: 1 << 30) == 1 << 30)
        for bad in ["5000", "1K", "2G", "x", "", "0"] {
            #expect(throws: ValueParseError.self) { try OptionValues.byteSize(bad, min: 4096, max: 1 << 30) }
        }
    }

    @Test func filterRules() {
        let t = sampleTransition()
        var f = TraceFilter()
        #expect(f.matches(t))
        f.ports = [8080]
        #expect(f.matches(t))
        f.localPorts = [8080]
        #expect(!f.matches(t), "filters combine with AND")
        f.localPorts = [1, 40832]
        #expect(f.matches(t), "values within a list combine with OR")
        f.family = .ipv6
        #expect(!f.matches(t))
        f.family = .ipv4
        f.ownerPID = 1234
        #expect(f.matches(t))
        f.ownerComm = "wget"
        #expect(!f.matches(t))
    }

    @Test func namespaceAndCgroupFilterRules() {
        var t = sampleTransition()  // netns 4026531840, cgroup 7321
        var f = TraceFilter()
        f.netns = 4_026_531_840
        #expect(f.matches(t))
        f.netns = 4_026_532_001
        #expect(!f.matches(t))
        f.netns = nil
        f.cgroupSubtree = CgroupSubtree(id: 7321, level: 2)
        #expect(f.matches(t), "the subtree's own cgroup")
        f.cgroupSubtree = CgroupSubtree(id: 7000, level: 1)
        #expect(!f.matches(t), "a record names only its own cgroup")
        #expect(f.matches(t, cgroupIsBelow: { $0 == 7321 }), "below the subtree, as the caller knows")
        t.identity.cgroup = nil
        t.identity.netns = nil
        #expect(!f.matches(t, cgroupIsBelow: { _ in true }), "an unknown cgroup does not pass")
        f.cgroupSubtree = nil
        f.netns = 4_026_531_840
        #expect(!f.matches(t), "an unknown namespace does not pass")
        f.netns = nil
        #expect(f.matches(t))
    }
}
