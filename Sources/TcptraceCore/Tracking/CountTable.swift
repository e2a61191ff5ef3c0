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
