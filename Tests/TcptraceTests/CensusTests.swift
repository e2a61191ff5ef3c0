import Testing
@testable import TcptraceCore

func sock(
    _ state: TCPState, _ laddr: String, _ lport: UInt16, _ raddr: String, _ rport: UInt16, cookie: UInt64 = 1
) -> SocketSnapshot {
    SocketSnapshot(
        cookie: cookie, state: state, local: IPAddress(laddr)!, localPort: lport, remote: IPAddress(raddr)!, remotePort: rport)
}

@Suite struct CensusTests {
    let t = WallTime(nanoseconds: 1_700_000_000_000_000_000)

    @Test func countsPerStateAndFilters() {
        let sockets = [
            sock(.timeWait, "10.0.0.1", 40000, "10.0.0.9", 5432),
            sock(.timeWait, "10.0.0.1", 40001, "10.0.0.9", 5432),
            sock(.closeWait, "10.0.0.1", 8080, "10.0.0.7", 50000),
            sock(.synRecv, "10.0.0.1", 8080, "10.0.0.8", 50001),
            sock(.listen, "0.0.0.0", 8080, "0.0.0.0", 0),
            sock(.established, "::1", 9000, "::1", 40000),
            sock(TCPState(rawValue: 14), "::1", 9001, "::1", 40001),
        ]
        let all = Census(time: t, sockets: sockets)
        #expect(all.total == 7)
        #expect(all.count(.timeWait) == 2 && all.count(.closeWait) == 1 && all.count(.synRecv) == 1)
        #expect(all.count(.listen) == 1 && all.count(.established) == 1 && all.count(.finWait1) == 0)
        #expect(all.listedStates.map(\.name).suffix(2) == ["CLOSING", "UNKNOWN_14"])
        let v4 = Census(time: t, sockets: sockets, filter: CensusFilter(family: .ipv4))
        #expect(v4.total == 5)
        let port = Census(time: t, sockets: sockets, filter: CensusFilter(ports: [8080]))
        #expect(port.total == 3 && port.count(.closeWait) == 1 && port.count(.timeWait) == 0)
        let remotePort = Census(time: t, sockets: sockets, filter: CensusFilter(ports: [5432]))
        #expect(remotePort.total == 2)
    }

    @Test func mappedIPv6CountsAsIPv4() {
        let s = SocketSnapshot(
            cookie: 1, state: .timeWait, local: IPAddress(family: .ipv6, bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]),
            localPort: 40000, remote: IPAddress("::ffff:127.0.0.1")!, remotePort: 80)
        #expect(Census(time: t, sockets: [s], filter: CensusFilter(family: .ipv4)).total == 1)
        #expect(Census(time: t, sockets: [s], filter: CensusFilter(family: .ipv6)).total == 0)
    }

    @Test func topPeersGroupOutboundByServiceAndInboundByLocalPort() {
        var sockets: [SocketSnapshot] = []
        for i in 0..<5 { sockets.append(sock(.timeWait, "10.0.0.1", 40000 + UInt16(i), "10.0.0.9", 5432)) }
        for i in 0..<3 { sockets.append(sock(.timeWait, "10.0.0.1", 41000 + UInt16(i), "10.0.0.8", 443)) }
        // Server side closed first: TIME_WAIT on our service port 80, peers' ephemeral ports differ.
        for i in 0..<4 { sockets.append(sock(.timeWait, "10.0.0.1", 80, "192.0.2.1", 50000 + UInt16(i))) }
        for i in 0..<6 { sockets.append(sock(.closeWait, "10.0.0.1", 8080, "192.0.2.2", 50000 + UInt16(i))) }
        let c = Census(time: t, sockets: sockets, top: 2)
        #expect(c.topTimeWait.count == 2)
        #expect(c.topTimeWait[0] == .init(peer: Peer(remote: IPAddress("10.0.0.9")!, remotePort: 5432, localPort: nil), count: 5))
        #expect(c.topTimeWait[1] == .init(peer: Peer(remote: IPAddress("192.0.2.1")!, remotePort: nil, localPort: 80), count: 4))
        #expect(c.topCloseWait == [.init(peer: Peer(remote: IPAddress("192.0.2.2")!, remotePort: nil, localPort: 8080), count: 6)])
    }

    @Test func exhaustionCountsOutboundTimeWaitPerSourceAgainstTheRange() {
        let range = PortRange(low: 40000, high: 40099)  // 100 ports
        #expect(range.size == 100)
        var sockets: [SocketSnapshot] = []
        for i in 0..<60 { sockets.append(sock(.timeWait, "127.0.0.2", 40000 + UInt16(i), "127.0.0.1", 8080)) }
        for i in 0..<30 { sockets.append(sock(.timeWait, "127.0.0.3", 40000 + UInt16(i), "127.0.0.1", 8080)) }
        for i in 0..<10 { sockets.append(sock(.timeWait, "127.0.0.2", 40000 + UInt16(i), "127.0.0.1", 9090)) }
        // Not outbound (local port outside the range): not counted.
        sockets.append(sock(.timeWait, "127.0.0.1", 8080, "127.0.0.2", 40000))
        sockets.append(sock(.established, "127.0.0.1", 8080, "127.0.0.2", 40001))
        // Outbound and open: it holds a port as long as it lasts.
        sockets.append(sock(.established, "127.0.0.2", 40099, "127.0.0.1", 8080))
        sockets.append(sock(.synSent, "127.0.0.2", 40098, "127.0.0.1", 8080))
        sockets.append(sock(.closeWait, "127.0.0.4", 40097, "127.0.0.1", 7070))
        // FIN_WAIT2 closed by the application (no file) is the kernel's timewait socket; with a
        // file (shutdown, not closed) it is open.
        var orphan = sock(.finWait2, "127.0.0.5", 40096, "127.0.0.1", 6060)
        orphan.inode = 0
        var halfClosed = sock(.finWait2, "127.0.0.5", 40095, "127.0.0.1", 6060)
        halfClosed.inode = 77
        sockets += [orphan, halfClosed]
        let c = Census(time: t, sockets: sockets, portRange: range)
        #expect(c.exhaustion.count == 4)
        let first = c.exhaustion[0]
        #expect(first.remote == IPAddress("127.0.0.1")! && first.remotePort == 8080)
        #expect(first.timeWait == 90 && first.open == 2 && first.localAddresses == 2 && first.maxPerLocalAddress == 62)
        #expect(first.usePercent == 62.0 && first.timeWaitUsePercent == 62.0)
        #expect(c.exhaustion[1].remotePort == 9090 && c.exhaustion[1].usePercent == 10.0 && c.exhaustion[1].open == 0)
        #expect(c.exhaustion[2].remotePort == 6060 && c.exhaustion[2].timeWait == 1 && c.exhaustion[2].open == 1)
        // Open only: a destination too, whose TIME_WAIT share is none.
        #expect(c.exhaustion[3].remotePort == 7070 && c.exhaustion[3].open == 1 && c.exhaustion[3].timeWait == 0)
        #expect(c.exhaustion[3].usePercent == 1.0 && c.exhaustion[3].timeWaitUsePercent == 0)
        #expect(PortRange(low: 10, high: 9).size == 0)
        #expect(PortRange.linuxDefault.size == 28232)
    }

    @Test func jsonLineGolden() {
        let sockets = [
            sock(.timeWait, "127.0.0.2", 40000, "127.0.0.1", 8080),
            sock(.closeWait, "::1", 8080, "::1", 50000),
        ]
        let c = Census(
            time: WallTime(nanoseconds: 1_764_078_374_596_256_525), sockets: sockets, filter: CensusFilter(ports: [8080]),
            portRange: PortRange(low: 32768, high: 60999))
        var out: [UInt8] = []
        JSONLines.append(c, to: &out)
        #expect(
            String(decoding: out, as: UTF8.self)
                == #"{"type":"census","v":1,"time":"2025-11-25T13:46:14.596256525Z","netns":null,"netns_name":null,"family":null,"ports":[8080],"total":2,"states":{"ESTABLISHED":0,"SYN_SENT":0,"SYN_RECV":0,"FIN_WAIT1":0,"FIN_WAIT2":0,"TIME_WAIT":1,"CLOSE":0,"CLOSE_WAIT":1,"LAST_ACK":0,"LISTEN":0,"CLOSING":0},"top_time_wait":[{"raddr":"127.0.0.1","rport":8080,"lport":null,"count":1}],"top_close_wait":[{"raddr":"::1","rport":null,"lport":8080,"count":1}],"port_range":{"low":32768,"high":60999,"size":28232},"port_exhaustion":[{"raddr":"127.0.0.1","rport":8080,"time_wait":1,"open":0,"local_addrs":1,"max_per_laddr":1,"use_pct":0.0}]}"#
                + "\n")
    }
}

@Suite struct DurationHistogramTests {
    @Test func emptyHasNoPercentiles() {
        let h = DurationHistogram()
        #expect(h.count == 0 && h.max == nil && h.p50 == nil)
    }

    @Test func smallValuesAreExact() {
        var h = DurationHistogram()
        for v in 1...100 as ClosedRange<UInt64> { h.record(v) }
        #expect(h.count == 100)
        #expect(h.p50 == 50 && h.p90 == 90 && h.p99 == 99 && h.max == 100 && h.min == 1)
        #expect(h.percentile(100) == 100)
    }

    /// 1..1,000,000 µs in ns: each percentile within the documented relative error of the truth.
    @Test func largeValuesWithinRelativeError() {
        var h = DurationHistogram()
        let n: UInt64 = 1_000_000
        for i in 1...n { h.record(i * 1000) }
        for (p, truth) in [(50.0, 500_000_000.0), (90.0, 900_000_000.0), (99.0, 990_000_000.0), (99.9, 999_000_000.0)] {
            let v = Double(h.percentile(p)!)
            #expect(abs(v - truth) / truth <= DurationHistogram.relativeError, "p\(p): \(v) vs \(truth)")
            #expect(v >= truth)  // reported as the bucket's upper bound
        }
        #expect(h.max == n * 1000)
    }

    @Test func skewedDistributionAndMerge() {
        var fast = DurationHistogram()
        for _ in 0..<990 { fast.record(100_000) }  // 0.1 ms
        var slow = DurationHistogram()
        for _ in 0..<10 { slow.record(2_000_000_000) }  // 2 s
        fast.merge(slow)
        #expect(fast.count == 1000)
        let p99 = Double(fast.p99!), p50 = Double(fast.p50!)
        #expect(abs(p50 - 100_000) / 100_000 <= DurationHistogram.relativeError)
        #expect(abs(p99 - 100_000) / 100_000 <= DurationHistogram.relativeError)
        #expect(fast.percentile(99.1)! >= 1_984_375_000 && fast.max == 2_000_000_000)
    }

    @Test func extremesDoNotOverflowAndMemoryIsBounded() {
        var h = DurationHistogram()
        h.record(0)
        h.record(.max)
        #expect(h.percentile(50) == 0 && h.percentile(100) == .max)
        #expect(DurationHistogram.index(.max) == 7423)
        for v: UInt64 in [255, 256, 257, 1 << 20, (1 << 20) + 12345, 1 << 40] {
            let hi = DurationHistogram.highestEquivalent(DurationHistogram.index(v))
            #expect(hi >= v && Double(hi - v) <= Double(v) * DurationHistogram.relativeError)
        }
    }
}

extension DurationHistogramTests {
    /// Counters only from the smallest to the largest bucket used: a peer's one 20 µs RTT held
    /// 1,053 counters from 0 up (8 KiB), 8 MB over the findings' 1,024 peers.
    @Test func holdsOnlyTheBucketsBetweenItsSmallestAndLargestValue() {
        var h = DurationHistogram()
        h.record(20_000)
        #expect(h.storedCounters == 1)
        for _ in 0..<1000 { h.record(20_000) }
        #expect(h.storedCounters == 1 && h.p50! >= 20_000 && h.p50! < 20_160)
        h.record(40_000)  // one power of two up: 128 buckets more
        #expect(h.storedCounters == DurationHistogram.index(40_000) - DurationHistogram.index(20_000) + 1)
        h.record(100)  // below the first: widened downwards, nothing lost
        #expect(h.storedCounters == DurationHistogram.index(40_000) - 100 + 1)
        #expect(h.count == 1003 && h.min == 100 && h.max == 40_000 && h.percentile(0.01) == 100)
        #expect(h.buckets.map(\.count) == [1, 1001, 1])
        #expect(h.cumulativeCountsAtLEBounds.first == 1002)  // ≤ 25 µs
    }

    /// The same values in any order, or merged from parts, make the same histogram.
    @Test func orderAndMergeDoNotChangeIt() {
        let values: [UInt64] = [5_000_000, 30, 700_000, 30, 2_000_000_000, 45_000]
        var forward = DurationHistogram(), backward = DurationHistogram(), low = DurationHistogram(), high = DurationHistogram()
        for v in values { forward.record(v) }
        for v in values.reversed() { backward.record(v) }
        for v in values where v < 100_000 { low.record(v) }
        for v in values where v >= 100_000 { high.record(v) }
        #expect(forward == backward)
        var merged = high
        merged.merge(low)
        #expect(merged == forward)
        var other = low
        other.merge(high)
        #expect(other == forward && other.buckets.map(\.count) == [2, 1, 1, 1, 1])
        let recent = forward.subtracting(low)
        #expect(recent.count == 3 && recent.p50.map { $0 >= 5_000_000 && $0 < 5_040_000 } == true)
        #expect(recent.min.map { $0 > 690_000 && $0 <= 700_000 } == true && recent.max == 2_000_000_000)
    }
}

@Suite struct CensusTallyTests {
    let t = WallTime(nanoseconds: 1_700_000_000_000_000_000)

    @Test func countTableAgreesWithDictionaryThroughGrowth() {
        var table = CountTable<PackedKey>()
        var reference: [String: UInt32] = [:]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let k = PackedKey(a: UInt64.random(in: 0..<50, using: &rng), b: UInt64.random(in: 0..<40, using: &rng), c: 7)
            let n = table.increment(k)
            reference["\(k.a) \(k.b)", default: 0] += 1
            #expect(n == reference["\(k.a) \(k.b)"])
        }
        var seen: [String: UInt32] = [:]
        table.forEach { k, n in seen["\(k.a) \(k.b)"] = n }
        #expect(seen == reference && table.count == reference.count)
    }

    /// The one-word table of IPv4 sources, through growth and with keys differing in either half.
    @Test func wordCountTableAgreesWithDictionary() {
        var table = CountTable<UInt64>()
        var reference: [UInt64: UInt32] = [:]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let k = UInt64.random(in: 1...30, using: &rng) << 32 | UInt64.random(in: 0..<300, using: &rng) &* 0x0101_0101
            #expect(table.increment(k) == reference[k, default: 0] + 1)
            reference[k, default: 0] += 1
        }
        var seen: [UInt64: UInt32] = [:]
        table.forEach { k, n in seen[k] = n }
        #expect(seen == reference && table.count == reference.count)
    }

    @Test func topNKeepsTheBestInOrderForSmallAndLargeN() {
        let values = (0..<500).map { ($0 * 7919) % 1000 }
        for n in [0, 1, 10, 64, 65, 400, 1000] {
            var top = TopN<Int>(n, by: >)
            for v in values { top.offer(v) }
            #expect(top.elements == Array(values.sorted(by: >).prefix(n)), "n \(n)")
        }
    }

    /// A dump lists listeners first; a collection in any order gives the same census.
    @Test func listenerOrderDoesNotChangeDirection() {
        // 45000 is in the ephemeral range, but listened on: its TIME_WAIT peers are inbound.
        var sockets = (0..<3).map { sock(.timeWait, "10.0.0.1", 45000, "10.0.0.9", 50000 + UInt16($0)) }
        sockets.append(sock(.listen, "0.0.0.0", 45000, "0.0.0.0", 0))
        let c = Census(time: t, sockets: sockets)
        #expect(c.topTimeWait == [.init(peer: Peer(remote: IPAddress("10.0.0.9")!, remotePort: nil, localPort: 45000), count: 3)])
        #expect(c.exhaustion.isEmpty)
        #expect(Census(time: t, sockets: sockets.reversed()) == c)
    }

    @Test func tiesRankInAddressOrderIPv4First() {
        let sockets = [
            sock(.closeWait, "::1", 80, "::2", 50000), sock(.closeWait, "10.0.0.1", 80, "10.0.0.10", 50000),
            sock(.closeWait, "10.0.0.1", 80, "9.0.0.1", 50000),
        ]
        let c = Census(time: t, sockets: sockets)
        #expect(c.topCloseWait.map(\.peer.remote.text) == ["9.0.0.1", "10.0.0.10", "::2"])
    }

    @Test func exhaustionFromManySourcesTracksTheBusiestOne() {
        var sockets: [SocketSnapshot] = []
        // 2,000 sources with 1 port each, one with 7, towards one destination; IPv6 sources too.
        for i in 0..<2000 { sockets.append(sock(.timeWait, "10.1.\(i / 250).\(i % 250)", 40000, "10.0.0.9", 443)) }
        for i in 0..<7 { sockets.append(sock(.timeWait, "10.2.0.1", 40000 + UInt16(i), "10.0.0.9", 443)) }
        for i in 0..<3 { sockets.append(sock(.timeWait, "fd00::1", 40000 + UInt16(i), "fd00::9", 443)) }
        let c = Census(time: t, sockets: sockets)
        #expect(c.exhaustion.count == 2)
        #expect(c.exhaustion[0].remote.text == "10.0.0.9" && c.exhaustion[0].timeWait == 2007)
        #expect(c.exhaustion[0].localAddresses == 2001 && c.exhaustion[0].maxPerLocalAddress == 7)
        #expect(c.exhaustion[1].remote.text == "fd00::9" && c.exhaustion[1].maxPerLocalAddress == 3)
        #expect(c.topTimeWait.first?.count == 2007)
    }
}
