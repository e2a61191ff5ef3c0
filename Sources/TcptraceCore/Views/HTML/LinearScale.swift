/// Maps a domain onto pixels.
public struct LinearScale: Sendable {
    public var domain: (Double, Double)
    public var range: (Double, Double)
    public init(domain: (Double, Double), range: (Double, Double)) {
        self.domain = domain
        self.range = range
    }
    public func callAsFunction(_ x: Double) -> Double {
        let span = domain.1 - domain.0
        guard span != 0 else { return range.0 }
        return range.0 + (x - domain.0) / span * (range.1 - range.0)
    }
}
