/// The formatted date and time of the last second `appendRFC3339(to:cache:)` wrote.
public struct RFC3339Cache: Sendable {
    @usableFromInline var second: Int64 = .min
    @usableFromInline var count = 0
    @usableFromInline var prefix: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    public init() {}
}
