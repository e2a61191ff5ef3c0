/// Writes each shown field as its style says.
public struct TextFieldWriter: FieldVisitor {
    public var cursor: ByteCursor
    @usableFromInline var first: Bool
    @usableFromInline var groupStart: UnsafeMutablePointer<UInt8>
    @inlinable public init(cursor: ByteCursor, first: Bool) {
        self.cursor = cursor
        self.first = first
        self.groupStart = cursor.p
    }
    @inlinable @inline(__always)
    public mutating func field<F: FieldFormat>(
        _ name: StaticString, _ value: inout F.Value, _ format: F.Type, text style: TextStyle, required: Bool,
        _ meaning: StaticString
    ) {
        guard style.shown else { return }
        let absent = F.isAbsent(value)
        if absent && style.absent == nil { return }
        if first {
            first = false
        } else {
            if style.startsGroup { groupStart = cursor.p }
            cursor.ascii(style.prefix)
        }
        if absent {
            cursor.ascii(style.absent!)
        } else {
            F.text(value, &cursor)
            cursor.ascii(style.suffix)
        }
        let used = cursor.p - groupStart
        if used < style.width {
            for _ in used..<style.width { cursor.byte(UInt8(ascii: " ")) }
        }
    }
}
