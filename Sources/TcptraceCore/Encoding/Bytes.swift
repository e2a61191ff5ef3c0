/// Appending text to a byte buffer without Foundation or per-call allocation: the output
/// path formats every line this way.
extension Array where Element == UInt8 {
    @inlinable
    public mutating func appendDecimal(_ value: UInt64) {
        if value < 10 {
            append(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        appendDecimal(value, width: 1)
    }

    @inlinable
    public mutating func appendDecimal(_ value: Int64) {
        if value < 0 {
            append(UInt8(ascii: "-"))
            appendDecimal(UInt64(bitPattern: 0 &- value))
        } else {
            appendDecimal(UInt64(value))
        }
    }

    /// `value` zero-padded to `width` digits. The digits are written right to left into a
    /// stack buffer and appended once.
    @inlinable
    public mutating func appendDecimal(_ value: UInt64, width: Int) {
        var digits: (UInt64, UInt64, UInt64) = (0x3030_3030_3030_3030, 0x3030_3030_3030_3030, 0x3030_3030_3030_3030)
        Swift.withUnsafeMutableBytes(of: &digits) { buf in
            var i = 24
            var n = value
            repeat {
                i &-= 1
                let (q, r) = n.quotientAndRemainder(dividingBy: 10)
                buf[i] = UInt8(truncatingIfNeeded: r) &+ 48
                n = q
            } while n != 0
            // Zeros are already in the buffer; a width beyond it pads separately.
            let padded = Swift.min(Swift.max(width, 24 - i), 24)
            for _ in 24..<Swift.max(width, 24) { append(UInt8(ascii: "0")) }
            append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[(24 - padded)...]))
        }
    }

    /// Lowercase hex, no leading zeros.
    @inlinable
    public mutating func appendHex(_ value: UInt64) {
        let hex: StaticString = "0123456789abcdef"
        var shift = 60
        while shift > 0 && (value >> UInt64(shift)) & 0xf == 0 { shift -= 4 }
        while shift >= 0 {
            append(hex.utf8Start[Int((value >> UInt64(shift)) & 0xf)])
            shift -= 4
        }
    }

    @inlinable
    public mutating func appendASCII(_ s: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inlinable
    public mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { append(contentsOf: $0) }
    }

    /// `s` padded with spaces on the right to `width` columns (ASCII width).
    @inlinable
    public mutating func append(_ s: String, paddedTo width: Int) {
        let start = count
        append(s)
        let written = count - start
        if written < width { append(contentsOf: repeatElement(UInt8(ascii: " "), count: width - written)) }
    }

    /// A command name's text.
    @inlinable
    public mutating func append(_ s: CommName) {
        s.withUTF8 { append(contentsOf: $0) }
    }

    /// A command name as a JSON string literal, quotes included.
    @inlinable
    public mutating func appendJSONString(_ s: CommName) {
        appendJSONString(s.description)
    }

    /// A JSON string literal, quotes included (the cursor's escaping: one escaper).
    @inlinable
    public mutating func appendJSONString(_ s: String) {
        appendThroughCursor(maxBytes: 2 + 6 * s.utf8.count) { $0.jsonString(s) }
    }

    /// A fixed-point number with `decimals` digits after the point, e.g. ns as ms: (1234567, 6, 3) → 1.234
    @inlinable
    public mutating func appendFixed(_ value: UInt64, scaleDigits: Int, decimals: Int) {
        var scale: UInt64 = 1
        for _ in 0..<scaleDigits { scale &*= 10 }
        var drop: UInt64 = 1
        for _ in 0..<(scaleDigits - decimals) { drop &*= 10 }
        appendDecimal(value / scale)
        if decimals > 0 {
            append(UInt8(ascii: "."))
            appendDecimal((value % scale) / drop, width: decimals)
        }
    }
}

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
