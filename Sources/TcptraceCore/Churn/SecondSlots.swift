/// Counters kept per second over the last 60 s (a ring of 60 slots, each stamped with its second
/// so a stale one reads as empty): windowed rates without keeping events. Fixed size.
public struct SecondSlots: Sendable {
    public static let span = 60
    /// Counters per slot.
    public let stride: Int
    var seconds: [Int64]
    var counts: [UInt32]

    public init(stride: Int) {
        self.stride = stride
        seconds = [Int64](repeating: .min, count: Self.span)
        counts = [UInt32](repeating: 0, count: Self.span * stride)
    }

    @inline(__always)
    static func slot(of second: Int64) -> Int {
        Int(((second % Int64(span)) + Int64(span)) % Int64(span))
    }

    /// Adds `n` to counter `field` of second `second`.
    public mutating func add(_ field: Int, second: Int64, _ n: UInt32 = 1) {
        let slot = Self.slot(of: second)
        if seconds[slot] != second {
            if seconds[slot] > second { return }  // older than the window: gone already
            seconds[slot] = second
            for i in 0..<stride { counts[slot * stride + i] = 0 }
        }
        counts[slot * stride + field] &+= n
    }

    /// Counter `field` summed over the `window` seconds ending with `now` (inclusive).
    public func sum(_ field: Int, window: Int, now: Int64) -> UInt64 {
        precondition(field >= 0 && field < stride)
        var total: UInt64 = 0
        // The window's seconds, newest first: only their slots are looked at, one step back
        // each (run per client connection by the port pressure: no division in the loop).
        var slot = Self.slot(of: now)
        var second = now
        let stride = self.stride
        seconds.withUnsafeBufferPointer { s in
            counts.withUnsafeBufferPointer { c in
                for _ in 0..<max(0, min(window, Self.span)) {
                    if s[slot] == second { total &+= UInt64(c[slot &* stride &+ field]) }
                    slot = slot == 0 ? Self.span - 1 : slot - 1
                    second &-= 1
                }
            }
        }
        return total
    }

    /// Counters `fields` summed per field over the window (for histograms kept as fields).
    public func sums(_ fields: Range<Int>, window: Int, now: Int64) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: fields.count)
        for slot in 0..<Self.span where seconds[slot] <= now && seconds[slot] > now - Int64(window) {
            for (k, f) in fields.enumerated() { out[k] += UInt64(counts[slot * stride + f]) }
        }
        return out
    }
}

/// Connection lifetimes in 64 half-octave bins of microseconds (each bin is within a factor of
/// 1.5 of its neighbours): a median without keeping the values.
public enum LifetimeBins {
    public static let count = 64

    public static func bin(nanoseconds: UInt64) -> Int {
        let us = nanoseconds / 1_000
        guard us > 0 else { return 0 }
        let k = 63 - us.leadingZeroBitCount
        let half = k >= 1 ? Int((us >> UInt64(k - 1)) & 1) : 0
        return min(count - 1, 2 * k + half)
    }

    /// The middle of bin `i`, in nanoseconds.
    public static func middle(_ i: Int) -> UInt64 {
        let k = i / 2
        let low: UInt64 = i % 2 == 0 ? 1 << UInt64(k) : (1 << UInt64(k)) + (k >= 1 ? 1 << UInt64(k - 1) : 0)
        let high: UInt64 = i % 2 == 0 ? (k >= 1 ? (1 << UInt64(k)) + (1 << UInt64(k - 1)) : 2) : 1 << UInt64(k + 1)
        return (low + high) / 2 * 1_000
    }

    /// The median of counts per bin; nil when empty.
    public static func median(_ bins: [UInt64]) -> UInt64? {
        let total = bins.reduce(0, +)
        guard total > 0 else { return nil }
        var seen: UInt64 = 0
        for (i, n) in bins.enumerated() {
            seen += n
            if seen * 2 >= total { return middle(i) }
        }
        return nil
    }
}
