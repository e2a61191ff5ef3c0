/// Appending text to a byte buffer without Foundation or per-call allocation: the output
/// path formats every line this way.
extension Array where Element == UInt8 {
    @inlinable
    public mutating func appendDecimal(_ value: UInt64) {
        if value < 10 {
            append(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        var digits = 1
        var t = value
        while t >= 10 {
            t /= 10
            digits += 1
        }
        let start = count
        append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        var n = value
        var i = start + digits - 1
        while n > 0 {
            self[i] = UInt8(truncatingIfNeeded: n % 10) &+ 48
            n /= 10
            i -= 1
        }
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

    /// `value` zero-padded to `width` digits.
    @inlinable
    public mutating func appendDecimal(_ value: UInt64, width: Int) {
        var threshold: UInt64 = 10
        for _ in 1..<Swift.max(width, 1) {
            if value < threshold { append(UInt8(ascii: "0")) }
            threshold = threshold &* 10
        }
        appendDecimal(value)
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

    /// A JSON string literal, quotes included.
    @inlinable
    public mutating func appendJSONString(_ s: String) {
        append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): appendASCII("\\\"")
            case UInt8(ascii: "\\"): appendASCII("\\\\")
            case UInt8(ascii: "\n"): appendASCII("\\n")
            case UInt8(ascii: "\t"): appendASCII("\\t")
            case UInt8(ascii: "\r"): appendASCII("\\r")
            case 0..<0x20:
                appendASCII("\\u00")
                let hex: StaticString = "0123456789abcdef"
                append(hex.utf8Start[Int(b >> 4)])
                append(hex.utf8Start[Int(b & 0xf)])
            default: append(b)
            }
        }
        append(UInt8(ascii: "\""))
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
