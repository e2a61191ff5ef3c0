/// Sums the most bytes each field can take (name, quotes, colon, comma and value).
public struct ByteBound: FieldVisitor {
    public var bytes = 0
    @inlinable public init() {}
    @inlinable @inline(__always)
    public mutating func field<F: FieldFormat>(
        _ name: StaticString, _ value: inout F.Value, _ format: F.Type, text: TextStyle, required: Bool,
        _ meaning: StaticString
    ) {
        // JSON: ,"name": value — text: prefix value suffix, padded.
        bytes &+= max(name.utf8CodeUnitCount &+ 4, text.prefix.utf8CodeUnitCount &+ text.suffix.utf8CodeUnitCount &+ text.width)
            &+ F.maxBytes &+ F.extraBytes(value)
    }
}
