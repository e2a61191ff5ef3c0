/// A time series in a fixed number of buckets: each bucket keeps, per state, the highest count
/// seen in it, the transitions in it, and whether a census fell in it. The first time seen is
/// the origin; a time past the last bucket makes adjacent pairs merge (peaks by maximum,
/// transitions by sum) and the width double, until it fits.
public struct TimeBuckets: Sendable {
    public let capacity: Int
    public let states: Int
    public private(set) var origin: Int64?
    public private(set) var width: Int64
    /// Buckets in use: 0..<used.
    public private(set) var used = 0
    /// Per bucket, per state: the highest count (flat, bucket-major).
    public private(set) var peaks: [Int32]
    public private(set) var transitions: [UInt64]
    public private(set) var census: [Bool]

    public init(capacity: Int, initialWidth: Int64, states: Int) {
        precondition(capacity >= 2 && capacity % 2 == 0 && initialWidth > 0)
        self.capacity = capacity
        self.states = states
        self.width = initialWidth
        peaks = [Int32](repeating: 0, count: capacity * states)
        transitions = [UInt64](repeating: 0, count: capacity)
        census = [Bool](repeating: false, count: capacity)
    }

    public func peak(bucket: Int, state: Int) -> Int32 { peaks[bucket * states + state] }
    public func start(ofBucket i: Int) -> Int64 { (origin ?? 0) + Int64(i) * width }

    /// The bucket of `time`. Buckets between the last used and it take `levels` (the counts
    /// did not change in them); times before the origin fall in bucket 0.
    public mutating func index(_ time: Int64, carrying levels: [Int32]) -> Int {
        let origin = self.origin ?? (time / width) * width
        self.origin = origin
        while (time - origin) / width >= Int64(capacity) { mergePairs() }
        let i = Int(max(0, (time - origin) / width))
        if i >= used {
            for b in used...i { setPeaks(b, levels) }
            used = i + 1
        }
        return i
    }

    mutating func setPeaks(_ b: Int, _ levels: [Int32]) {
        for s in 0..<states { peaks[b * states + s] = levels[s] }
    }

    public mutating func raise(_ i: Int, to levels: [Int32]) {
        for s in 0..<states where levels[s] > peaks[i * states + s] { peaks[i * states + s] = levels[s] }
    }

    public mutating func countTransition(at i: Int) { transitions[i] += 1 }
    public mutating func markCensus(at i: Int) { census[i] = true }

    /// Halves the resolution: bucket j becomes buckets 2j and 2j+1.
    public mutating func mergePairs() {
        let half = capacity / 2
        for j in 0..<half {
            for s in 0..<states {
                peaks[j * states + s] = max(peaks[2 * j * states + s], peaks[(2 * j + 1) * states + s])
            }
            transitions[j] = transitions[2 * j] + transitions[2 * j + 1]
            census[j] = census[2 * j] || census[2 * j + 1]
        }
        for j in half..<capacity {
            for s in 0..<states { peaks[j * states + s] = 0 }
            transitions[j] = 0
            census[j] = false
        }
        used = (used + 1) / 2
        width *= 2
    }
}
