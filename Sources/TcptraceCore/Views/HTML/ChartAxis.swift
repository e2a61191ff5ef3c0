/// Axis arithmetic and number text for the charts of `report --html`. Pure, and golden-tested:
/// the same data always gives the same ticks, so a picture can be checked without a browser.
public enum ChartAxis {
    /// The smallest step of the form 1, 2 or 5 × 10^k that cuts `span` into at most `maxTicks`
    /// intervals.
    public static func niceStep(span: Double, maxTicks: Int) -> Double {
        guard span > 0, maxTicks > 0 else { return 1 }
        let raw = span / Double(maxTicks)
        var decade = 1.0
        while decade * 10 <= raw { decade *= 10 }
        while decade > raw { decade /= 10 }
        for m in [1.0, 2.0, 5.0, 10.0] where m * decade >= raw { return m * decade }
        return 10 * decade
    }

    /// Ticks 0, step, 2·step … up to the first at or above `max` (which becomes the axis top).
    /// Counts are whole numbers: the step is at least 1.
    public static func countTicks(upTo max: Double, maxTicks: Int = 5) -> [Double] {
        let top = Swift.max(max, 1)
        let step = Swift.max(1, niceStep(span: top, maxTicks: maxTicks))
        var ticks: [Double] = [0]
        while ticks.last! < top { ticks.append(Double(ticks.count) * step) }
        return ticks
    }

    /// Steps a time axis may take, in nanoseconds: sub-second 1-2-5, then clock-friendly.
    static let timeSteps: [Int64] = {
        var steps: [Int64] = []
        var d: Int64 = 1_000_000
        while d < 1_000_000_000 {
            steps += [d, 2 * d, 5 * d]
            d *= 10
        }
        let s: Int64 = 1_000_000_000
        return steps + [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map { $0 * s }
    }()

    /// Ticks for a wall-clock axis from `start` to `end` (ns): multiples of a step (aligned to
    /// the UTC epoch, so they fall on round clock times), at most `maxTicks` of them.
    public static func timeTicks(start: Int64, end: Int64, maxTicks: Int = 8) -> (step: Int64, ticks: [Int64]) {
        let span = Swift.max(end - start, 1)
        let step = timeSteps.first { span / $0 < Int64(maxTicks) } ?? 86_400_000_000_000
        var t = (start / step) * step
        if t < start { t += step }
        var ticks: [Int64] = []
        while t <= end {
            ticks.append(t)
            t += step
        }
        return (step, ticks)
    }

    /// A tick label: `HH:MM:SS` (UTC), with milliseconds when the step is below a second.
    public static func clockLabel(_ ns: Int64, step: Int64) -> String {
        let text = Array(WallTime(nanoseconds: ns).rfc3339)
        guard text.count >= 19 else { return String(text) }
        return String(text[11..<(step < 1_000_000_000 && text.count >= 23 ? 23 : 19)])
    }

    /// Decades 10^lo … 10^hi (ns) that cover `min`…`max`: a log axis for durations. Values below
    /// 1 µs are put at 1 µs (logs carry microseconds).
    public static func durationDecades(min: UInt64, max: UInt64) -> ClosedRange<Int> {
        let lo = decade(Swift.max(min, 1_000), roundingUp: false)
        let hi = Swift.max(decade(Swift.max(max, 1_000), roundingUp: true), lo + 1)
        return lo...hi
    }

    static func decade(_ v: UInt64, roundingUp: Bool) -> Int {
        var d = 0
        var p: UInt64 = 1
        while p <= v / 10 {
            p *= 10
            d += 1
        }
        // p = 10^d ≤ v < 10^(d+1)
        return roundingUp && p < v ? d + 1 : d
    }

    /// A duration at a decade tick: `1 µs`, `100 ms`, `10 s`, `1000 s`.
    public static func decadeLabel(_ d: Int) -> String {
        switch d {
        case ..<3: return pow10(d) + " ns"
        case 3..<6: return pow10(d - 3) + " µs"
        case 6..<9: return pow10(d - 6) + " ms"
        default: return pow10(d - 9) + " s"
        }
    }

    static func pow10(_ d: Int) -> String { "1" + String(repeating: "0", count: Swift.max(d, 0)) }

    /// log10 of a duration in ns (1 µs for 0 and below).
    public static func log10(_ ns: Double) -> Double {
        let v = Swift.max(ns, 1_000)
        // log10 without Foundation: log2 by the exponent, refined by a few terms of ln.
        return naturalLog(v) / 2.302585092994046
    }

    static func naturalLog(_ x: Double) -> Double {
        // x = m · 2^e with m in [1, 2): ln x = e ln 2 + ln m, ln m by atanh series.
        let e = Double(x.exponent)
        let m = x.significand
        let y = (m - 1) / (m + 1)
        let y2 = y * y
        var term = y, sum = 0.0
        var k = 1.0
        for _ in 0..<12 {
            sum += term / k
            term *= y2
            k += 2
        }
        return e * 0.6931471805599453 + 2 * sum
    }

    /// A count in few characters: `950`, `1.2k`, `35k`, `1.2M`.
    public static func compact(_ n: Double) -> String {
        let a = Swift.abs(n)
        if a < 1000 { return fixed(n, a < 10 && n != n.rounded() ? 1 : 0) }
        for (div, suffix) in [(1e9, "G"), (1e6, "M"), (1e3, "k")] where a >= div {
            let v = n / div
            return fixed(v, Swift.abs(v) < 10 ? 1 : 0) + suffix
        }
        return fixed(n, 0)
    }

    /// `x` with `decimals` digits after the point (no exponent, no trailing `.0` when 0 decimals).
    public static func fixed(_ x: Double, _ decimals: Int) -> String {
        guard x.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let r = (Swift.abs(x) * scale).rounded()
        let whole = Int64(r / scale)
        var text = (x < 0 && r > 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            let frac = Int64(r - Double(whole) * scale)
            let digits = String(frac)
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return text
    }

    /// A duration for people: `850 µs`, `12.3 ms`, `4.05 s`, `3 min 20 s`, `2 h 05 min`.
    public static func duration(_ ns: UInt64) -> String {
        let v = Double(ns)
        switch ns {
        case ..<1_000_000: return fixed(v / 1e3, v < 10_000 ? 1 : 0) + " µs"
        case ..<1_000_000_000: return fixed(v / 1e6, v < 10_000_000 ? 2 : v < 100_000_000 ? 1 : 0) + " ms"
        case ..<60_000_000_000: return fixed(v / 1e9, v < 10e9 ? 2 : 1) + " s"
        case ..<3_600_000_000_000:
            let s = ns / 1_000_000_000
            return "\(s / 60) min \(s % 60) s"
        default:
            let m = ns / 60_000_000_000
            let mm = m % 60
            return "\(m / 60) h \(mm < 10 ? "0" : "")\(mm) min"
        }
    }
}
