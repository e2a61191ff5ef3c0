/// Counts per key for one census, in an open-addressing table (linear probing, grows at half
/// full, no removal): 28 bytes a slot with a `PackedKey`, 12 with one word, and no SipHash. A census of 100,000 TIME_WAIT
/// sockets from as many source addresses does three lookups per socket, and Dictionary's
/// seeded hashing and per-entry storage were a quarter of the census's time.
struct CountTable<Key: CountKey> {
    private var keys: [Key]
    /// 0: the slot is empty.
    private var counts: [UInt32]
    private(set) var count = 0

    init() {
        keys = Array(repeating: Key.empty, count: 16)
        counts = Array(repeating: 0, count: 16)
    }

    /// Adds one under `key`; returns the new count.
    @discardableResult
    mutating func increment(_ key: Key) -> UInt32 {
        let i = slot(key)
        counts[i] += 1
        return counts[i]
    }

    /// The count under `key`, setting it to `value` first if the key is new (for ids).
    mutating func value(_ key: Key, ifNew value: UInt32) -> UInt32 {
        let i = slot(key)
        if counts[i] == 0 { counts[i] = value }
        return counts[i]
    }

    func forEach(_ body: (Key, UInt32) -> Void) {
        for i in keys.indices where counts[i] != 0 { body(keys[i], counts[i]) }
    }

    /// The slot holding `key`, claimed (count 0) if the key is new.
    private mutating func slot(_ key: Key) -> Int {
        var mask = keys.count - 1
        var i = key.slotHash & mask
        while counts[i] != 0 {
            if keys[i] == key { return i }
            i = (i + 1) & mask
        }
        if (count + 1) * 2 > keys.count {
            grow()
            mask = keys.count - 1
            i = key.slotHash & mask
            while counts[i] != 0 { i = (i + 1) & mask }
        }
        keys[i] = key
        count += 1
        return i
    }

    private mutating func grow() {
        let oldKeys = keys, oldCounts = counts
        keys = Array(repeating: Key.empty, count: oldKeys.count * 2)
        counts = Array(repeating: 0, count: oldKeys.count * 2)
        let mask = keys.count - 1
        for j in oldKeys.indices where oldCounts[j] != 0 {
            var i = oldKeys[j].slotHash & mask
            while counts[i] != 0 { i = (i + 1) & mask }
            keys[i] = oldKeys[j]
            counts[i] = oldCounts[j]
        }
    }
}

/// A key of a `CountTable`: any value marks an empty slot (the count 0 does), `empty` fills them.
protocol CountKey: Equatable {
    static var empty: Self { get }
    var slotHash: Int { get }
}

extension PackedKey: CountKey {
    static var empty: PackedKey { PackedKey(a: 0, b: 0, c: 0) }
    var slotHash: Int { hash }
}

/// One word (an IPv4 census key): 12 bytes a slot where `PackedKey` takes 28.
extension UInt64: CountKey {
    static var empty: UInt64 { 0 }
    /// The splitmix64 finalizer.
    var slotHash: Int {
        var h = (self ^ 0x9e37_79b9_7f4a_7c15) &* 0xbf58_476d_1ce4_e5b9
        h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
        return Int(truncatingIfNeeded: h ^ (h >> 31))
    }
}
