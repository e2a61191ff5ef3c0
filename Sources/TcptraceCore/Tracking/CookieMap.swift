/// Socket cookie -> value: the connection table's indexes, used on every event.
///
/// Open addressing with linear probing and backward-shift deletion (no tombstones), keys spread
/// by Fibonacci hashing. Cookies are the kernel's own sequence numbers, never chosen by a peer,
/// so they need no keyed hash against flooding (Swift's `Dictionary` pays SipHash on every
/// lookup: ~8 % of the tracer's CPU in a storm), and consecutive cookies land in distinct slots.
/// Grows at 3/4 full; never shrinks (its owner's capacity bounds it).
struct CookieMap<Value: Sendable>: Sendable {
    private var keys: [UInt64]
    private var values: [Value?]
    private var shift: Int
    private(set) var count = 0

    init() {
        keys = Array(repeating: 0, count: 16)
        values = Array(repeating: nil, count: 16)
        shift = 64 - 4
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    private func home(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9e37_79b9_7f4a_7c15) >> UInt64(shift)) }

    /// The value of `key`; setting nil removes it.
    subscript(key: UInt64) -> Value? {
        @inline(__always) get {
            let mask = keys.count &- 1
            var i = home(key)
            return keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    while let value = v[i] {
                        if k[i] == key { return value }
                        i = (i &+ 1) & mask
                    }
                    return nil
                }
            }
        }
        set {
            if let newValue { set(key, newValue) } else { remove(key) }
        }
    }

    /// Sets the value of `key`, adding it if new.
    mutating func set(_ key: UInt64, _ value: Value) {
        if (count + 1) * 4 > keys.count * 3 { grow() }
        let mask = keys.count &- 1
        var i = home(key)
        while values[i] != nil {
            if keys[i] == key {
                values[i] = value
                return
            }
            i = (i &+ 1) & mask
        }
        keys[i] = key
        values[i] = value
        count += 1
    }

    /// Removes `key`; returns its value, or nil if it had none.
    @discardableResult
    mutating func remove(_ key: UInt64) -> Value? {
        let mask = keys.count &- 1
        var i = home(key)
        while values[i] != nil {
            if keys[i] == key { break }
            i = (i &+ 1) & mask
        }
        guard let removed = values[i] else { return nil }
        // Backward shift: move later members of the run into the hole when their home allows.
        var hole = i
        var j = (i &+ 1) & mask
        while values[j] != nil {
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
        values[hole] = nil
        keys[hole] = 0
        count -= 1
        return removed
    }

    /// Every key with its value, in no particular order.
    func forEach(_ body: (UInt64, Value) throws -> Void) rethrows {
        for i in keys.indices { if let v = values[i] { try body(keys[i], v) } }
    }

    func contains(where predicate: (UInt64, Value) -> Bool) -> Bool {
        for i in keys.indices { if let v = values[i], predicate(keys[i], v) { return true } }
        return false
    }

    func map<T>(_ transform: (UInt64, Value) -> T) -> [T] {
        var out: [T] = []
        out.reserveCapacity(count)
        forEach { out.append(transform($0, $1)) }
        return out
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = Array(repeating: 0, count: oldKeys.count * 2)
        values = Array(repeating: nil, count: oldKeys.count * 2)
        shift -= 1
        let mask = keys.count &- 1
        for j in oldKeys.indices {
            guard let v = oldValues[j] else { continue }
            var i = home(oldKeys[j])
            while values[i] != nil { i = (i &+ 1) & mask }
            keys[i] = oldKeys[j]
            values[i] = v
        }
    }
}
