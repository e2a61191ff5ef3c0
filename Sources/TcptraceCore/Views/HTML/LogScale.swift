/// Durations (ns) onto pixels by their logarithm, between two decades.
public struct LogScale: Sendable {
    public var decades: ClosedRange<Int>
    public var range: (Double, Double)
    public init(decades: ClosedRange<Int>, range: (Double, Double)) {
        self.decades = decades
        self.range = range
    }
    public func callAsFunction(_ ns: Double) -> Double {
        let l = Swift.min(Swift.max(ChartAxis.log10(ns), Double(decades.lowerBound)), Double(decades.upperBound))
        return LinearScale(domain: (Double(decades.lowerBound), Double(decades.upperBound)), range: range)(l)
    }
}
