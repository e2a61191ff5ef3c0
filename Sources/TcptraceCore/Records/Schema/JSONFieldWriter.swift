/// Writes `"name":value` for each field, comma-separated.
public struct JSONFieldWriter: FieldVisitor {
    public var cursor: ByteCursor
    @usableFromInline var first: Bool
    @inlinable public init(cursor: ByteCursor, first: Bool) {
        self.cursor = cursor
        self.first = first
    }
    @inlinable @inline(__always)
    public mutating func field<F: FieldFormat>(
        _ name: StaticString, _ value: inout F.Value, _ format: F.Type, text: TextStyle, required: Bool,
        _ meaning: StaticString
    ) {
        if F.isOmitted(value) { return }
        cursor.jsonKey(name, comma: !first)
        first = false
        F.json(value, &cursor)
    }
}
