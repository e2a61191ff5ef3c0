/// The bridge from a byte buffer to the one byte writer, `ByteCursor`: records, times and
/// addresses are written through a cursor; the layouts people read are strings (`TextLayout`).
extension Array where Element == UInt8 {
    /// Appends what `body` writes through a cursor, which may write at most `maxBytes`: the
    /// fields are plain stores into scratch memory (on the stack when small), appended once.
    /// (Plus `ByteCursor.overrun` bytes of room for word stores past the end.)
    @inlinable
    public mutating func appendThroughCursor(maxBytes: Int, _ body: (inout ByteCursor) -> Void) {
        let need = maxBytes &+ ByteCursor.overrun
        // withUnsafeTemporaryAllocation is on the stack only up to 1 KiB with this toolchain and
        // a heap allocation above (every connection record's bound is above): fixed stack
        // buffers up to 4 KiB instead.
        if need > 1024 && need <= 2048 {
            var scratch = InlineArray<2048, UInt8>(repeating: 0)
            Swift.withUnsafeMutableBytes(of: &scratch) { appendWritten(into: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), maxBytes, body) }
        } else if need > 2048 && need <= 4096 {
            var scratch = InlineArray<4096, UInt8>(repeating: 0)
            Swift.withUnsafeMutableBytes(of: &scratch) { appendWritten(into: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), maxBytes, body) }
        } else {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: need) { appendWritten(into: $0.baseAddress!, maxBytes, body) }
        }
    }

    /// What `body` writes through a cursor at `base` (room for `maxBytes` plus the overrun), appended.
    @inlinable @inline(__always)
    mutating func appendWritten(into base: UnsafeMutablePointer<UInt8>, _ maxBytes: Int, _ body: (inout ByteCursor) -> Void) {
        var c = ByteCursor(base)
        body(&c)
        let written = c.p - base
        precondition(written <= maxBytes, "cursor overran its reservation")
        append(contentsOf: UnsafeBufferPointer(start: base, count: written))
    }
}
