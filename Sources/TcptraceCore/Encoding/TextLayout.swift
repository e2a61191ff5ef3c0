/// Numbers and columns for the layouts people read (the summary, a census, doctor, what
/// `report` read, `top`): built as strings, once per run or per screen, never per event.
/// Records are written through their declarations and one `ByteCursor` instead.
public enum TextLayout {
    /// `value` in units of 10^-`scaleDigits` with `decimals` digits after the point, cut off
    /// (ns as ms: (1234567, 6, 3) → "1.234").
    public static func fixed(_ value: UInt64, scaleDigits: Int, decimals: Int) -> String {
        var scale: UInt64 = 1
        for _ in 0..<scaleDigits { scale &*= 10 }
        var drop: UInt64 = 1
        for _ in 0..<(scaleDigits - decimals) { drop &*= 10 }
        guard decimals > 0 else { return String(value / scale) }
        return "\(value / scale)." + zeroPadded((value % scale) / drop, decimals)
    }

    /// `value` with zeros in front to `width` digits.
    public static func zeroPadded(_ value: UInt64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count < width ? String(repeating: "0", count: width - digits.count) + digits : digits
    }

    /// 127.0.0.1:80 or [::1]:80
    public static func endpoint(_ a: IPAddress, _ port: UInt16) -> String {
        a.family == .ipv6 ? "[\(a.text)]:\(port)" : "\(a.text):\(port)"
    }

    /// A command name with control characters (which would break the line) shown as `?`: they
    /// are single bytes in UTF-8, never part of another character.
    public static func sanitized(_ c: CommName) -> String {
        var b: [UInt8] = []
        c.withUTF8 { u in b = u.map { $0 < 0x20 || $0 == 0x7f ? UInt8(ascii: "?") : $0 } }
        return String(decoding: b, as: UTF8.self)
    }
}

extension String {
    /// Padded with spaces on the right to `width` bytes (the layouts' columns are ASCII).
    public func padded(to width: Int) -> String {
        let n = utf8.count
        return n < width ? self + String(repeating: " ", count: width - n) : self
    }

    /// Padded with spaces on the left to `width` bytes.
    public func rightAligned(to width: Int) -> String {
        let n = utf8.count
        return n < width ? String(repeating: " ", count: width - n) + self : self
    }
}
