/// Three words that identify a group of sockets (addresses, ports, flags).
struct PackedKey: Equatable {
    var a: UInt64, b: UInt64, c: UInt64

    /// An address as two words plus a family bit: IPv4 in `low`, IPv6 in both.
    static func words(_ address: IPAddress) -> (high: UInt64, low: UInt64, v6: UInt64) {
        switch address {
        case .v4(let a): return (0, UInt64(a), 0)
        case .v6(let h, let l): return (h, l, 1)
        }
    }

    static func address(high: UInt64, low: UInt64, v6: Bool) -> IPAddress {
        v6 ? .v6(high, low) : .v4(UInt32(truncatingIfNeeded: low))
    }

    /// Multiply-xorshift mixing (the splitmix64 finalizer) of each word in turn.
    var hash: Int {
        var h: UInt64 = 0x9e37_79b9_7f4a_7c15
        h = (h ^ a) &* 0xbf58_476d_1ce4_e5b9
        h ^= h >> 31
        h = (h ^ b) &* 0xbf58_476d_1ce4_e5b9
        h ^= h >> 31
        h = (h ^ c) &* 0x94d0_49bb_1331_11eb
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }
}

/// Counts per PackedKey for one census, in an open-addressing table (linear probing, grows at
/// half full, no removal): 28 bytes a slot and no SipHash. A census of 100,000 TIME_WAIT
/// sockets from as many source addresses does three lookups per socket, and Dictionary's
/// seeded hashing and per-entry storage were a quarter of the census's time.
struct CountTable {
    private var keys: [PackedKey]
    /// 0: the slot is empty.
    private var counts: [UInt32]
    private(set) var count = 0

    init() {
        keys = Array(repeating: PackedKey(a: 0, b: 0, c: 0), count: 16)
        counts = Array(repeating: 0, count: 16)
    }

    /// Adds one under `key`; returns the new count.
    @discardableResult
    mutating func increment(_ key: PackedKey) -> UInt32 {
        let i = slot(key)
        counts[i] += 1
        return counts[i]
    }

    /// The count under `key`, setting it to `value` first if the key is new (for ids).
    mutating func value(_ key: PackedKey, ifNew value: UInt32) -> UInt32 {
        let i = slot(key)
        if counts[i] == 0 { counts[i] = value }
        return counts[i]
    }

    func forEach(_ body: (PackedKey, UInt32) -> Void) {
        for i in keys.indices where counts[i] != 0 { body(keys[i], counts[i]) }
    }

    /// The slot holding `key`, claimed (count 0) if the key is new.
    private mutating func slot(_ key: PackedKey) -> Int {
        var mask = keys.count - 1
        var i = key.hash & mask
        while counts[i] != 0 {
            if keys[i] == key { return i }
            i = (i + 1) & mask
        }
        if (count + 1) * 2 > keys.count {
            grow()
            mask = keys.count - 1
            i = key.hash & mask
            while counts[i] != 0 { i = (i + 1) & mask }
        }
        keys[i] = key
        count += 1
        return i
    }

    private mutating func grow() {
        let oldKeys = keys, oldCounts = counts
        keys = Array(repeating: PackedKey(a: 0, b: 0, c: 0), count: oldKeys.count * 2)
        counts = Array(repeating: 0, count: oldKeys.count * 2)
        let mask = keys.count - 1
        for j in oldKeys.indices where oldCounts[j] != 0 {
            var i = oldKeys[j].hash & mask
            while counts[i] != 0 { i = (i + 1) & mask }
            keys[i] = oldKeys[j]
            counts[i] = oldCounts[j]
        }
    }
}

/// The `n` best of a stream without sorting it all: kept sorted while `n` is small (the usual
/// top 10); a large `n` collects everything and sorts once at the end.
struct TopN<Element> {
    let n: Int
    let before: (Element, Element) -> Bool
    private var kept: [Element] = []
    private var sorted: Bool { n <= 64 }

    init(_ n: Int, by before: @escaping (Element, Element) -> Bool) {
        self.n = max(0, n)
        self.before = before
    }

    mutating func offer(_ e: Element) {
        guard n > 0 else { return }
        guard sorted else { return kept.append(e) }
        if kept.count == n {
            guard before(e, kept[n - 1]) else { return }
            kept.removeLast()
        }
        var i = kept.count
        while i > 0 && before(e, kept[i - 1]) { i -= 1 }
        kept.insert(e, at: i)
    }

    /// Best first, at most `n`.
    var elements: [Element] { sorted ? kept : Array(kept.sorted(by: before).prefix(n)) }
}
