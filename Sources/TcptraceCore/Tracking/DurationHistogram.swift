/// Durations in nanoseconds, log-linear buckets in the manner of HdrHistogram: values below
/// 256 are exact; above, each power of two is split into 128 buckets, so a percentile is off by
/// at most 1/128 (0.79 %) of its value. Memory is bounded: at most 7,424 counters (58 KiB),
/// allocated only from the smallest to the largest bucket used (one value: one counter, where
/// counters from 0 up made a 20 µs RTT cost 8 KiB: 8 MB over the findings' 1,024 peers).
public struct DurationHistogram: Hashable, Sendable {
    /// log2 of the sub-buckets per power of two.
    static let precisionBits = 7
    static let subBuckets = 1 << precisionBits
    /// The largest relative error of a reported percentile (not of `max`, which is exact).
    public static let relativeError = 1.0 / Double(subBuckets)

    public private(set) var count: UInt64 = 0
    /// The exact largest value recorded; nil while empty.
    public private(set) var max: UInt64?
    public private(set) var min: UInt64?
    /// The exact total of all values recorded (wraps after 584 years of summed time).
    public private(set) var sum: UInt64 = 0
    /// Counters of the buckets `base`, `base + 1`, ... (empty: nothing recorded).
    private var counts: [UInt64] = []
    private var base = 0
    /// Values by the first of `leBounds` at or above them (the last slot: above all), counted
    /// exactly: a bucket may straddle a bound, a value is never on both sides of one.
    private var byBound: [UInt64] = []

    public init() {}

    public mutating func record(_ nanoseconds: UInt64) {
        let i = Self.index(nanoseconds)
        let j = i &- base
        if j >= 0 && j < counts.count {
            counts[j] &+= 1
        } else {
            widen(to: i)
            counts[i &- base] &+= 1
        }
        let slot = Self.boundSlots[i]
        var k = Int(slot & 0x7f)
        if slot & 0x80 != 0 && nanoseconds > Self.leBounds[k] { k &+= 1 }
        if byBound.isEmpty { byBound = [UInt64](repeating: 0, count: Self.leBounds.count + 1) }
        byBound[k] &+= 1
        count &+= 1
        sum &+= nanoseconds
        max = Swift.max(max ?? 0, nanoseconds)
        min = Swift.min(min ?? .max, nanoseconds)
    }

    /// The value at percentile `p` (0 < p ≤ 100): the smallest recorded value such that at least
    /// p % of all values are ≤ it, reported as its bucket's upper bound (never above `max`).
    public func percentile(_ p: Double) -> UInt64? {
        guard count > 0, let max else { return nil }
        let clamped = Swift.min(Swift.max(p, 0), 100)
        var rank = UInt64((clamped / 100 * Double(count)).rounded(.up))
        rank = Swift.min(Swift.max(rank, 1), count)
        var seen: UInt64 = 0
        for (i, n) in counts.enumerated() where n > 0 {
            seen += n
            if seen >= rank { return Swift.min(Self.highestEquivalent(base + i), max) }
        }
        return max
    }

    public var p50: UInt64? { percentile(50) }
    public var p90: UInt64? { percentile(90) }
    public var p99: UInt64? { percentile(99) }

    /// Adds every value of `other`.
    public mutating func merge(_ other: DurationHistogram) {
        if !other.counts.isEmpty {
            widen(to: other.base)
            widen(to: other.base + other.counts.count - 1)
            for (i, n) in other.counts.enumerated() { counts[other.base - base + i] &+= n }
        }
        if byBound.isEmpty { byBound = other.byBound } else { for (k, n) in other.byBound.enumerated() { byBound[k] &+= n } }
        count &+= other.count
        sum &+= other.sum
        if let m = other.max { max = Swift.max(max ?? 0, m) }
        if let m = other.min { min = Swift.min(min ?? .max, m) }
    }

    /// Every non-empty bucket, smallest first: its lowest and highest value and its count.
    public var buckets: [(low: UInt64, high: UInt64, count: UInt64)] {
        counts.enumerated().compactMap { j, n in
            let i = base + j
            return n > 0 ? (i == 0 ? 0 : Self.highestEquivalent(i - 1) + 1, Self.highestEquivalent(i), n) : nil
        }
    }

    /// Counters held: from the smallest to the largest bucket used.
    var storedCounters: Int { counts.count }

    /// Makes bucket `i` one of the counters (new ones 0).
    private mutating func widen(to i: Int) {
        if counts.isEmpty {
            base = i
            counts = [0]
        } else if i < base {
            counts.insert(contentsOf: repeatElement(0, count: base - i), at: 0)
            base = i
        } else if i - base >= counts.count {
            counts.append(contentsOf: repeatElement(0, count: i - base + 1 - counts.count))
        }
    }

    /// The `le` bounds of the duration histograms the metrics expose, in nanoseconds (25 µs to 1 h).
    public static let leBounds: [UInt64] = [
        25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000,
        100_000_000, 250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000, 5_000_000_000, 10_000_000_000, 30_000_000_000,
        60_000_000_000, 300_000_000_000, 1_800_000_000_000, 3_600_000_000_000,
    ]

    /// How many values are at or below each of `leBounds`: cumulative counts, as Prometheus `le`
    /// buckets want them. Exact: a value on a bound counts under it, one above it does not.
    public var cumulativeCountsAtLEBounds: [UInt64] {
        var out = [UInt64](repeating: 0, count: Self.leBounds.count)
        var seen: UInt64 = 0
        for k in out.indices {
            if k < byBound.count { seen &+= byBound[k] }
            out[k] = seen
        }
        return out
    }

    /// Per bucket: the first of `leBounds` at or above its lowest value (the low 7 bits), and
    /// whether that bound lies inside the bucket (0x80), where `record` compares the value itself.
    static let boundSlots: [UInt8] = (0..<(64 * subBuckets)).map { i in
        let low = lowestEquivalent(i), high = highestEquivalent(i)
        let k = leBounds.firstIndex { $0 >= low } ?? leBounds.count
        return UInt8(k) | (k < leBounds.count && leBounds[k] < high ? 0x80 : 0)
    }

    static func index(_ v: UInt64) -> Int {
        let bits = 64 - v.leadingZeroBitCount
        if bits <= precisionBits + 1 { return Int(v) }
        let shift = bits - (precisionBits + 1)
        return shift * subBuckets + Int(v >> UInt64(shift))
    }

    static func highestEquivalent(_ index: Int) -> UInt64 {
        if index < 2 * subBuckets { return UInt64(index) }
        let shift = index / subBuckets - 1
        let top = UInt64(index - shift * subBuckets)
        let low = top << UInt64(shift)
        return low &+ ((1 << UInt64(shift)) - 1)
    }
}

extension DurationHistogram {
    /// The values recorded since `earlier`, an earlier copy of this histogram (counts only
    /// grow): what a live view shows for its last interval. Its `min` and `max` are bucket
    /// bounds, not exact values.
    public func subtracting(_ earlier: DurationHistogram) -> DurationHistogram {
        var d = DurationHistogram()
        d.counts = counts
        d.base = base
        for (e, n) in earlier.counts.enumerated() {
            let i = earlier.base + e - base
            if i >= 0 && i < d.counts.count { d.counts[i] &-= Swift.min(n, d.counts[i]) }
        }
        d.byBound = byBound
        for (k, n) in earlier.byBound.enumerated() where k < d.byBound.count { d.byBound[k] &-= Swift.min(n, d.byBound[k]) }
        d.count = d.counts.reduce(0, &+)
        if let last = d.counts.lastIndex(where: { $0 > 0 }), let first = d.counts.firstIndex(where: { $0 > 0 }) {
            d.max = Swift.min(Self.highestEquivalent(base + last), max ?? .max)
            d.min = Swift.max(Self.lowestEquivalent(base + first), min ?? 0)
        }
        return d
    }

    static func lowestEquivalent(_ index: Int) -> UInt64 {
        if index < 2 * subBuckets { return UInt64(index) }
        let shift = index / subBuckets - 1
        return UInt64(index - shift * subBuckets) << UInt64(shift)
    }
}
