import Testing

@testable import TcptraceCore

/// The connection table's cookie index against `Dictionary` under random inserts, overwrites,
/// removals and lookups: removals shift later keys back into their runs, so every key stays
/// findable whatever the order.
struct CookieMapTests {
    /// Keys from `pick`: a few hundred live at once, many colliding runs, 0 among them.
    func check(seed: UInt64, pick: (inout RecordLineFuzzTests.SplitMix64) -> UInt64) {
        var rng = RecordLineFuzzTests.SplitMix64(state: seed)
        var map = CookieMap<Int>()
        var reference: [UInt64: Int] = [:]
        var mismatches = 0
        for step in 0..<60_000 {
            let key = pick(&rng)
            switch rng.next() % 8 {
            case 0, 1, 2:
                let value = Int(rng.next() % 1_000_000)
                map.set(key, value)
                reference[key] = value
            case 3, 4:
                if map.remove(key) != reference.removeValue(forKey: key) { mismatches += 1 }
            default:
                if map[key] != reference[key] { mismatches += 1 }
            }
            if step % 5_000 == 0 {
                var seen: [UInt64: Int] = [:]
                map.forEach { k, v in seen[k] = v }
                if seen != reference || map.count != reference.count { mismatches += 1 }
            }
        }
        for (k, v) in reference where map[k] != v { mismatches += 1 }
        #expect(mismatches == 0)
        #expect(map.count == reference.count)
    }

    @Test func sequentialCookies() {
        check(seed: 1) { rng in rng.next() % 600 }
    }

    @Test func keysThatShareHomeSlots() {
        // Multiples of 2^60 differ only in the bits a small table's Fibonacci hash keeps least.
        check(seed: 2) { rng in (rng.next() % 16) << 60 | (rng.next() % 40) }
    }

    @Test func sparseKeys() {
        check(seed: 3) { rng in rng.next() % 3 == 0 ? 0 : rng.next() | 1 }
    }
}

/// TIME_WAIT counted per remote endpoint up to the capacity, the rest as `other`.
struct TimeWaitTallyTests {
    @Test func countsPerEndpointThenOther() {
        var tally = TimeWaitTally(capacity: 2)
        func record(_ port: UInt16, timeWait: Bool = true) {
            var c = ConnectionRecord()
            c.identity.remote = .v4(0x7f00_0001)
            c.identity.remotePort = port
            c.timeWaitState = timeWait ? .timeWait : nil
            tally.record(c)
        }
        for port: UInt16 in [80, 80, 443, 80, 8080, 443, 8080] { record(port) }
        record(80, timeWait: false)
        #expect(tally.total == 7)
        #expect(tally.byEndpoint[.init(remote: .v4(0x7f00_0001), remotePort: 80)] == 3)
        #expect(tally.byEndpoint[.init(remote: .v4(0x7f00_0001), remotePort: 443)] == 2)
        #expect(tally.byEndpoint.count == 2 && tally.other == 2)
        #expect(tally.top(1).first?.count == 3)
    }
}

/// The 64-row tables hash their keys' premixed word with each dictionary's seed, not SipHash:
/// equal keys hash equal, distinct keys spread, and the dictionaries find every key.
struct PremixedKeyTests {
    @Test func destinationsAndMakersHashByPremixAndSeed() {
        var destinations: [PortPressure.Destination: Int] = [:]
        var makers: [TimeWaitMakers.Key: Int] = [:]
        var raw = Set<Int>()
        for i in 0..<200 {
            let local = IPAddress.v4(0x7f01_0000 | UInt32(i % 7)), remote = IPAddress.v6(UInt64(i), 1)
            let d = PortPressure.Destination(netns: i % 3 == 0 ? nil : UInt32(i), local: local, remote: remote, remotePort: UInt16(i))
            let k = TimeWaitMakers.Key(
                owner: Owner(pid: UInt32(i % 5), comm: "app"), cgroup: UInt64(i % 2), netns: UInt32(i), local: local, remote: remote,
                remotePort: 443)
            destinations[d] = i
            makers[k] = i
            raw.insert(d._rawHashValue(seed: 7))
            let same = PortPressure.Destination(netns: d.netns, local: d.local, remote: d.remote, remotePort: d.remotePort)
            #expect(same._rawHashValue(seed: 7) == d._rawHashValue(seed: 7) && same.hashValue == d.hashValue)
            #expect(d._rawHashValue(seed: 7) != d._rawHashValue(seed: 8), "the seed is mixed in")
        }
        #expect(raw.count == 200, "distinct destinations, distinct hashes")
        for i in 0..<200 {
            let local = IPAddress.v4(0x7f01_0000 | UInt32(i % 7)), remote = IPAddress.v6(UInt64(i), 1)
            #expect(destinations[PortPressure.Destination(netns: i % 3 == 0 ? nil : UInt32(i), local: local, remote: remote, remotePort: UInt16(i))] == i)
            #expect(
                makers[TimeWaitMakers.Key(
                    owner: Owner(pid: UInt32(i % 5), comm: "app"), cgroup: UInt64(i % 2), netns: UInt32(i), local: local,
                    remote: remote, remotePort: 443)] == i)
        }
    }
}
