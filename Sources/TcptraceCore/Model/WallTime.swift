/// Wall-clock time as nanoseconds since the Unix epoch (UTC).
public struct WallTime: Hashable, Comparable, Sendable {
    public var nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static func < (a: WallTime, b: WallTime) -> Bool { a.nanoseconds < b.nanoseconds }

    /// RFC 3339, UTC, nanoseconds: 2026-11-25T13:40:10.123456789Z
    public func appendRFC3339(to out: inout [UInt8]) {
        var cache = RFC3339Cache()
        out.appendThroughCursor(maxBytes: 40) { appendRFC3339(to: &$0, cache: &cache) }
    }

    /// The same text through a cursor (at most 40 bytes). Inlined: while the second is the
    /// cached one, its prefix is copied as whole words (`ByteCursor.overrun` covers the rest
    /// of the 32) and only the nine digits of the fraction are formatted, without a call.
    @inlinable @inline(__always)
    public func appendRFC3339(to c: inout ByteCursor, cache: inout RFC3339Cache) {
        var secs = nanoseconds / 1_000_000_000
        var ns = nanoseconds % 1_000_000_000
        if ns < 0 {
            ns &+= 1_000_000_000
            secs &-= 1
        }
        if secs == cache.second {
            c.words(cache.prefix, count: cache.count)
            c.nineDigits(UInt32(truncatingIfNeeded: ns))
            c.byte(UInt8(ascii: "Z"))
        } else {
            appendRFC3339Uncached(to: &c, cache: &cache)
        }
    }

    /// A new second: formats its prefix and caches it.
    @usableFromInline
    func appendRFC3339Uncached(to c: inout ByteCursor, cache: inout RFC3339Cache) {
        let (secs, ns) = splitSeconds()
        let start = c.p
        appendDateTime(seconds: secs, to: &c)
        let n = c.p - start
        if n <= MemoryLayout.size(ofValue: cache.prefix) {  // a 5+-digit year is not cached
            cache.second = secs
            cache.count = n
            withUnsafeMutableBytes(of: &cache.prefix) { $0.copyMemory(from: UnsafeRawBufferPointer(start: start, count: n)) }
        }
        c.decimal(UInt64(ns), width: 9)
        c.byte(UInt8(ascii: "Z"))
    }

    /// "YYYY-MM-DDTHH:MM:SS." for whole `seconds` since the epoch.
    private func appendDateTime(seconds secs: Int64, to c: inout ByteCursor) {
        let (days, secOfDay) = secs.quotientAndRemainder(dividingBy: 86_400)
        let (y, m, d) = Self.civil(fromDays: days - (secOfDay < 0 ? 1 : 0))
        c.decimal(UInt64(y), width: 4)
        c.byte(UInt8(ascii: "-"))
        c.decimal(UInt64(m), width: 2)
        c.byte(UInt8(ascii: "-"))
        c.decimal(UInt64(d), width: 2)
        c.byte(UInt8(ascii: "T"))
        appendClock(secondOfDay: secOfDay < 0 ? secOfDay + 86_400 : secOfDay, to: &c)
    }

    /// HH:MM:SS.ffffff at `utcOffsetSeconds` from UTC (for people: local time).
    public func appendTimeOfDay(utcOffsetSeconds: Int64, to c: inout ByteCursor) {
        let shifted = WallTime(nanoseconds: nanoseconds + utcOffsetSeconds * 1_000_000_000)
        let (secs, ns) = shifted.splitSeconds()
        var sod = secs % 86_400
        if sod < 0 { sod += 86_400 }
        appendClock(secondOfDay: sod, to: &c)
        c.decimal(UInt64(ns / 1000), width: 6)
    }

    /// The same as a string.
    public func timeOfDay(utcOffsetSeconds: Int64) -> String {
        var b: [UInt8] = []
        b.appendThroughCursor(maxBytes: 16) { appendTimeOfDay(utcOffsetSeconds: utcOffsetSeconds, to: &$0) }
        return String(decoding: b, as: UTF8.self)
    }

    public var rfc3339: String {
        var b: [UInt8] = []
        appendRFC3339(to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    /// Parses what `appendRFC3339` writes, and any RFC 3339 offset form (Z, +hh:mm, -hh:mm)
    /// with 0–9 fraction digits.
    public init?(rfc3339 text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard let t = bytes.withUnsafeBufferPointer({ WallTime(rfc3339Bytes: $0) }) else { return nil }
        self = t
    }

    /// The same, from UTF-8 bytes (the JSON-lines reader parses without making a String).
    public init?(rfc3339Bytes b: UnsafeBufferPointer<UInt8>) {
        func num(_ from: Int, _ len: Int) -> Int64? {
            guard from + len <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + len) {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2),
            let mi = num(14, 2), let s = num(17, 2), (1...12).contains(mo), (1...31).contains(d),
            h < 24, mi < 60, s < 61
        else { return nil }
        var i = 19
        var frac: Int64 = 0
        if i < b.count && b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count && b[i] >= 48 && b[i] <= 57 {
                if digits < 9 { frac = frac * 10 + Int64(b[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 9)..<9 { frac *= 10 }
        }
        var offset: Int64 = 0
        guard i < b.count else { return nil }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard let oh = num(i + 1, 2), b.count > i + 3, b[i + 3] == UInt8(ascii: ":"), let om = num(i + 4, 2)
            else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = Self.days(fromCivil: y, mo, d)
        let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset
        // Int64 nanoseconds end in 2262: a later year is out of range, not a trap.
        let (ns, overflow) = secs.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow, ns <= Int64.max - frac else { return nil }
        self.nanoseconds = ns + frac
    }

    private func splitSeconds() -> (Int64, Int64) {
        var s = nanoseconds / 1_000_000_000
        var ns = nanoseconds % 1_000_000_000
        if ns < 0 { ns += 1_000_000_000; s -= 1 }
        return (s, ns)
    }

    /// "HH:MM:SS." (the one clock writer: RFC 3339 and the time of day for people).
    private func appendClock(secondOfDay sod: Int64, to c: inout ByteCursor) {
        c.decimal(UInt64(sod / 3600), width: 2)
        c.byte(UInt8(ascii: ":"))
        c.decimal(UInt64(sod / 60 % 60), width: 2)
        c.byte(UInt8(ascii: ":"))
        c.decimal(UInt64(sod % 60), width: 2)
        c.byte(UInt8(ascii: "."))
    }

    // Howard Hinnant's days <-> civil date algorithms (proleptic Gregorian).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
