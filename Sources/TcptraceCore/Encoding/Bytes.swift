/// The bridge from a byte buffer to the one byte writer, `ByteCursor`: records, times and
/// addresses are written through a cursor; the layouts people read are strings (`TextLayout`).
extension Array where Element == UInt8 {
    /// Appends what `body` writes through a cursor, which may write at most `maxBytes`: the
    /// fields are plain stores into scratch memory (on the stack when small), appended once.
    /// (Plus `ByteCursor.overrun` bytes of room for word stores past the end.)
    @inlinable
    public mutating func appendThroughCursor(maxBytes: Int, _ body: (inout ByteCursor) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxBytes &+ ByteCursor.overrun) { scratch in
            let base = scratch.baseAddress!
            var c = ByteCursor(base)
            body(&c)
            let written = c.p - base
            precondition(written <= maxBytes, "cursor overran its reservation")
            append(contentsOf: UnsafeBufferPointer(start: base, count: written))
        }
    }
}
