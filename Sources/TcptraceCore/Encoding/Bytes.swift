/// The bridge from a byte buffer to the one byte writer, `ByteCursor`: records, times and
/// addresses are written through a cursor; the layouts people read are strings (`TextLayout`).
extension Array where Element == UInt8 {
    /// Appends what `body` writes through a cursor, which may write at most `maxBytes`: the
    /// fields are plain stores straight into the array's spare capacity (reserved once, grown
    /// geometrically), with no scratch buffer and no copy. (Plus `ByteCursor.overrun` bytes of
    /// room for word stores past the end; those bytes stay outside the array's count.) A bound
    /// above `ByteCursor.directLimit` (a census line with long lists) is written into temporary memory and
    /// appended, so an array never keeps room for a bound far above what was written.
    @inlinable
    public mutating func appendThroughCursor(maxBytes: Int, _ body: (inout ByteCursor) -> Void) {
        guard maxBytes <= ByteCursor.directLimit else {
            appendThroughTemporary(maxBytes: maxBytes, body)
            return
        }
        append(addingCapacity: maxBytes &+ ByteCursor.overrun) { span in
            span.withUnsafeMutableBufferPointer { room, initialized in
                let base = room.baseAddress!
                var c = ByteCursor(base)
                body(&c)
                let written = c.p - base
                precondition(written <= maxBytes, "cursor overran its reservation")
                initialized = written
            }
        }
    }

    /// `appendThroughCursor` for a large bound: written in temporary memory, then appended.
    /// Out of line, so the direct path stays small enough to inline into each record's writer.
    @inlinable @inline(never)
    mutating func appendThroughTemporary(maxBytes: Int, _ body: (inout ByteCursor) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxBytes &+ ByteCursor.overrun) { room in
            let base = room.baseAddress!
            var c = ByteCursor(base)
            body(&c)
            let written = c.p - base
            precondition(written <= maxBytes, "cursor overran its reservation")
            append(contentsOf: UnsafeBufferPointer(start: base, count: written))
        }
    }
}
