/// Socket cookie -> a small non-negative integer (a slot number): the connection table's index,
/// looked up on every event.
///
/// Open addressing with linear probing and backward-shift deletion (no tombstones), keys spread
/// by Fibonacci hashing. Cookies are the kernel's own sequence numbers, never chosen by a peer,
/// so they need no keyed hash against flooding (Swift's `Dictionary` pays SipHash on every
/// lookup: ~8 % of the tracer's CPU in a storm), and consecutive cookies land in distinct slots.
/// Grows at 3/4 full; never shrinks (its owner's capacity bounds it).
struct CookieMap: Sendable {
    private var keys: [UInt64]
    /// The value plus one; 0: the slot is empty (so any cookie, 0 too, can be a key).
    private var values: [UInt32]
    private var shift: Int
    private(set) var count = 0

    init() {
        keys = Array(repeating: 0, count: 16)
        values = Array(repeating: 0, count: 16)
        shift = 64 - 4
    }

    @inline(__always)
    private func home(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9e37_79b9_7f4a_7c15) >> UInt64(shift)) }

    @inline(__always)
    subscript(key: UInt64) -> Int? {
        let mask = keys.count &- 1
        var i = home(key)
        return keys.withUnsafeBufferPointer { k in
            values.withUnsafeBufferPointer { v in
                while v[i] != 0 {
                    if k[i] == key { return Int(v[i] &- 1) }
                    i = (i &+ 1) & mask
                }
                return nil
            }
        }
    }

    /// Sets the value of `key`, adding it if new. `value` < UInt32.max.
    mutating func set(_ key: UInt64, _ value: Int) {
        precondition(value >= 0 && value < Int(UInt32.max))
        if (count + 1) * 4 > keys.count * 3 { grow() }
        let mask = keys.count &- 1
        var i = home(key)
        while values[i] != 0 {
            if keys[i] == key {
                values[i] = UInt32(value) &+ 1
                return
            }
            i = (i &+ 1) & mask
        }
        keys[i] = key
        values[i] = UInt32(value) &+ 1
        count += 1
    }

    /// Removes `key`; returns its value, or nil if it had none.
    @discardableResult
    mutating func remove(_ key: UInt64) -> Int? {
        let mask = keys.count &- 1
        var i = home(key)
        while values[i] != 0 {
            if keys[i] == key { break }
            i = (i &+ 1) & mask
        }
        guard values[i] != 0 else { return nil }
        let removed = Int(values[i] &- 1)
        // Backward shift: move later members of the run into the hole when their home allows.
        var hole = i
        var j = (i &+ 1) & mask
        while values[j] != 0 {
            let h = home(keys[j])
            // j may fill the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !stays {
                keys[hole] = keys[j]
                values[hole] = values[j]
                hole = j
            }
            j = (j &+ 1) & mask
        }
        values[hole] = 0
        keys[hole] = 0
        count -= 1
        return removed
    }

    /// Every key with its value, in no particular order.
    func forEach(_ body: (UInt64, Int) throws -> Void) rethrows {
        for i in keys.indices where values[i] != 0 { try body(keys[i], Int(values[i] &- 1)) }
    }

    func contains(where predicate: (UInt64, Int) -> Bool) -> Bool {
        for i in keys.indices where values[i] != 0 && predicate(keys[i], Int(values[i] &- 1)) { return true }
        return false
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = Array(repeating: 0, count: oldKeys.count * 2)
        values = Array(repeating: 0, count: oldKeys.count * 2)
        shift -= 1
        let mask = keys.count &- 1
        for j in oldKeys.indices where oldValues[j] != 0 {
            var i = home(oldKeys[j])
            while values[i] != 0 { i = (i &+ 1) & mask }
            keys[i] = oldKeys[j]
            values[i] = oldValues[j]
        }
    }
}
