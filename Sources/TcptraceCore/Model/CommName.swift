/// A process's command name (the kernel's `comm`, TASK_COMM_LEN = 16 bytes) as UTF-8 text in
/// fixed inline storage: a plain value, so transitions, owners and table entries copy without
/// reference counting, and the text is only looked at when a line is formatted.
///
/// Holds up to `capacity` bytes: a 16-byte kernel field repaired to valid UTF-8 (an invalid
/// byte becomes U+FFFD, 3 bytes) always fits. Longer text (never from the kernel; e.g. a
/// hand-edited log) is cut at a character boundary, and text ends at a NUL, as in the kernel.
public struct CommName: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public static let capacity = 48
    /// UTF-8, zero-padded.
    @usableFromInline var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
    /// Bytes of text in `words`.
    @usableFromInline var length: UInt8 = 0

    public init() {}

    public init(_ text: String) {
        var utf8 = Array(text.utf8.prefix(while: { $0 != 0 }))
        if utf8.count > Self.capacity {
            var n = Self.capacity
            while n > 0 && utf8[n] & 0xC0 == 0x80 { n -= 1 }  // not inside a multi-byte character
            utf8.removeSubrange(n...)
        }
        withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: utf8) }
        length = UInt8(utf8.count)
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// From a kernel comm field: 16 bytes, NUL-terminated unless full. ASCII (the usual case)
    /// is taken as is, word by word; anything else is repaired as `String(decoding:as:)` does.
    @inlinable
    public init(kernel field: (CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar)) {
        let raw = unsafeBitCast(field, to: (UInt64, UInt64).self)
        self.init(kernelWords: raw.0, raw.1)
    }

    /// The same from the field's 16 bytes loaded as two words straight from memory: a tuple of
    /// 16 `CChar`s passed by value is taken apart and put together again byte by byte.
    @inlinable @inline(__always)
    public init(kernelWords raw0: UInt64, _ raw1: UInt64) {
        var a = UInt64(littleEndian: raw0), b = UInt64(littleEndian: raw1)
        // The first NUL ends the text: keep the bytes before it (byte i is bits 8i..8i+7).
        let n = Self.firstZeroByte(a, b)
        if n < 8 {
            a &= n == 0 ? 0 : ~UInt64(0) >> UInt64(64 - 8 * n)
            b = 0
        } else if n < 16 {
            b &= n == 8 ? 0 : ~UInt64(0) >> UInt64(128 - 8 * n)
        }
        if (a | b) & 0x8080_8080_8080_8080 == 0 {
            words.0 = a.littleEndian
            words.1 = b.littleEndian
            length = UInt8(truncatingIfNeeded: n)
        } else {
            self = withUnsafeBytes(of: (raw0, raw1)) { CommName(String(decoding: $0[..<n], as: UTF8.self)) }
        }
    }

    /// Index of the first zero byte of the 16 bytes `a` (0-7) and `b` (8-15), or 16.
    @inlinable
    static func firstZeroByte(_ a: UInt64, _ b: UInt64) -> Int {
        let low: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        // The lowest flagged byte is exactly the first zero byte (borrows only run upward).
        let za = (a &- low) & ~a & high
        if za != 0 { return za.trailingZeroBitCount >> 3 }
        let zb = (b &- low) & ~b & high
        return zb != 0 ? 8 + zb.trailingZeroBitCount >> 3 : 16
    }

    public var count: Int { Int(length) }
    public var isEmpty: Bool { length == 0 }

    /// The UTF-8 text.
    @inlinable
    public func withUTF8<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: words) { try body(UnsafeRawBufferPointer(rebasing: $0[..<Int(length)])) }
    }

    public var description: String { withUTF8 { String(decoding: $0, as: UTF8.self) } }

    public static func == (a: CommName, b: CommName) -> Bool {
        a.length == b.length && a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2
            && a.words.3 == b.words.3 && a.words.4 == b.words.4 && a.words.5 == b.words.5
    }

    public func hash(into h: inout Hasher) {
        withUTF8 { h.combine(bytes: $0) }
    }
}
