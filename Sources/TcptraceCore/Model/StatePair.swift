/// A pair of states, ordered by (old, new) number.
public struct StatePair: Hashable, Comparable, Sendable {
    public var old: TCPState
    public var new: TCPState
    public init(_ old: TCPState, _ new: TCPState) {
        self.old = old
        self.new = new
    }
    public static func < (a: StatePair, b: StatePair) -> Bool { (a.old, a.new) < (b.old, b.new) }
}
