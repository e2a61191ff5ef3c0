/// A position in one JSON line. Every read checks bounds; nothing here can trap on input.
public struct JSONReader {
    /// Nesting deeper than this in a value is rejected (bounded recursion).
    public static let maxDepth = 32
    static let powersOfTen: [UInt64] = (0...9).map { n in (0..<n).reduce(1) { a, _ in a * 10 } }

    public init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    public let bytes: UnsafeBufferPointer<UInt8>
    public var i = 0

    public var atEnd: Bool { i >= bytes.count }
    public var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    public func fail(_ what: String) -> RecordLineError {
        .malformed(atEnd ? "\(what) (line ends at column \(i + 1))" : "\(what) at column \(i + 1)")
    }

    public mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0d || bytes[i] == 0x0a { i += 1 }
    }

    public mutating func expect(_ c: UInt8, _ what: String) throws(RecordLineError) {
        skipSpace()
        guard peek == c else { throw fail(what) }
        i += 1
    }

    /// One member of an object: the raw bytes of its key and the span of its value.
    public struct Member {
        public var key: Range<Int>
        public var value: Range<Int>
    }

    /// `{ "key": value, … }` at the reader: every member's key and value span, in order; the
    /// reader ends after the object. Values are checked for syntax (skipped) here.
    public mutating func members(depth: Int) throws(RecordLineError) -> [Member] {
        try expect(UInt8(ascii: "{"), "expected a JSON object")
        var out: [Member] = []
        out.reserveCapacity(24)
        try commaSeparated(close: UInt8(ascii: "}"), "object") { (r) throws(RecordLineError) in
            guard r.peek == UInt8(ascii: "\"") else { throw r.fail("expected a field name") }
            let keyStart = r.i + 1
            guard try r.rawString({ _ in }) else { throw r.fail("unterminated field name") }
            let key = keyStart..<(r.i - 1)
            try r.expect(UInt8(ascii: ":"), "expected ':'")
            r.skipSpace()
            let valueStart = r.i
            try r.skipValue(depth: depth + 1)
            out.append(Member(key: key, value: valueStart..<r.i))
        }
        return out
    }

    /// `[ value, … ]` at the reader: `element` must consume each value. False when there is no
    /// array here.
    public mutating func elements(depth: Int, _ element: (inout JSONReader) throws(RecordLineError) -> Void) throws(RecordLineError) -> Bool {
        guard peek == UInt8(ascii: "[") else { return false }
        i += 1
        try commaSeparated(close: UInt8(ascii: "]"), "array") { (r) throws(RecordLineError) in
            guard depth < JSONReader.maxDepth else { throw r.fail("nested too deeply") }
            try element(&r)
        }
        return true
    }

    /// The items of an object or array after its opening bracket, comma-separated, each read by
    /// `item`; the reader ends after `close`.
    @inline(__always)
    mutating func commaSeparated(
        close: UInt8, _ what: StaticString, _ item: (inout JSONReader) throws(RecordLineError) -> Void
    ) throws(RecordLineError) {
        skipSpace()
        if peek == close {
            i += 1
            return
        }
        while true {
            skipSpace()
            try item(&self)
            skipSpace()
            guard let c = peek else { throw fail("unterminated \(what)") }
            i += 1
            if c == close { return }
            guard c == UInt8(ascii: ",") else {
                i -= 1
                throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))'")
            }
        }
    }

    /// Whether a member's key is `name` (keys are compared as written, unescaped).
    public func keyEquals(_ m: Member, _ name: StaticString) -> Bool {
        let n = name.utf8CodeUnitCount
        guard m.key.count == n else { return false }
        let base = name.utf8Start
        var k = 0
        for b in m.key {
            if bytes[b] != base[k] { return false }
            k += 1
        }
        return true
    }

    /// The key's text (for messages).
    public func keyText(_ m: Member) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[m.key]), as: UTF8.self)
    }

    /// Reads a string at the cursor and hands its decoded bytes to `body`. Returns false
    /// (cursor unspecified) when there is no valid string here.
    public mutating func rawString(_ body: (UnsafeBufferPointer<UInt8>) -> Void) throws(RecordLineError) -> Bool {
        guard peek == UInt8(ascii: "\"") else { return false }
        let start = i + 1
        var j = start
        var escaped = false
        while j < bytes.count {
            let c = bytes[j]
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { throw RecordLineError.malformed("control character in a string at column \(j + 1)") }
            if c == UInt8(ascii: "\\") {
                escaped = true
                j += 1
            }
            j += 1
        }
        guard j < bytes.count else { throw RecordLineError.malformed("unterminated string (line ends at column \(bytes.count + 1))") }
        i = j + 1
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<j])
        if !escaped {
            body(raw)
            return true
        }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        guard Self.unescape(raw, into: &out) else { throw RecordLineError.malformed("bad escape in a string before column \(i + 1)") }
        out.withUnsafeBufferPointer(body)
        return true
    }

    /// The string's value through `transform`; nil when not a string or `transform` fails.
    public mutating func withRawString<T>(_ transform: (UnsafeBufferPointer<UInt8>) -> T?) -> T? {
        var result: T?
        let start = i
        guard (try? rawString({ result = transform($0) })) == true else {
            i = start
            return nil
        }
        return result
    }

    public mutating func stringValue() -> String? { withRawString { String(decoding: $0, as: UTF8.self) } }

    static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case 48...57: return UInt32(c - 48)
        case 65...70: return UInt32(c - 55)
        case 97...102: return UInt32(c - 87)
        default: return nil
        }
    }

    static func unescape(_ s: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        var k = 0
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= s.count else { return nil }
            var v: UInt32 = 0
            for m in at..<(at + 4) {
                guard let h = hexValue(s[m]) else { return nil }
                v = v << 4 | h
            }
            return v
        }
        while k < s.count {
            let c = s[k]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                k += 1
                continue
            }
            guard k + 1 < s.count else { return false }
            let e = s[k + 1]
            k += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard var scalar = hex4(k) else { return false }
                k += 4
                if scalar >= 0xd800 && scalar < 0xdc00 {
                    // A high surrogate must be followed by an escaped low one.
                    guard k + 1 < s.count, s[k] == UInt8(ascii: "\\"), s[k + 1] == UInt8(ascii: "u"),
                        let low = hex4(k + 2), low >= 0xdc00 && low < 0xe000
                    else { return false }
                    k += 6
                    scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
                } else if scalar >= 0xdc00 && scalar < 0xe000 {
                    return false
                }
                guard let u = Unicode.Scalar(scalar) else { return false }
                out.append(contentsOf: String(Character(u)).utf8)
            default: return false
            }
        }
        return true
    }

    public mutating func null() -> Bool {
        guard literal("null") else { return false }
        return true
    }

    public mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { return false }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { return false }
        // "nullx" is not null.
        if i + n < bytes.count, Self.isWordByte(bytes[i + n]) { return false }
        i += n
        return true
    }

    static func isWordByte(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == UInt8(ascii: "_")
            || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
    }

    /// A JSON number: returns the integer and fraction digit spans, and whether an exponent
    /// followed. Nil (cursor unchanged) if no valid number is here.
    public mutating func number() -> (negative: Bool, int: Range<Int>, frac: Range<Int>, exponent: Range<Int>?)? {
        let start = i
        var j = i
        var negative = false
        if j < bytes.count, bytes[j] == UInt8(ascii: "-") {
            negative = true
            j += 1
        }
        let intStart = j
        while j < bytes.count, bytes[j] >= 48 && bytes[j] <= 57 { j += 1 }
        let intEnd = j
        guard intEnd > intStart, bytes[intStart] != 48 || intEnd - intStart == 1 else {
            i = start
            return nil
        }
        var frac = j..<j
        if j < bytes.count, bytes[j] == UInt8(ascii: ".") {
            j += 1
            let fs = j
            while j < bytes.count, bytes[j] >= 48 && bytes[j] <= 57 { j += 1 }
            guard j > fs else { return nil }
            frac = fs..<j
        }
        var exponent: Range<Int>? = nil
        if j < bytes.count, bytes[j] == UInt8(ascii: "e") || bytes[j] == UInt8(ascii: "E") {
            let es = j
            j += 1
            if j < bytes.count, bytes[j] == UInt8(ascii: "+") || bytes[j] == UInt8(ascii: "-") { j += 1 }
            let ds = j
            while j < bytes.count, bytes[j] >= 48 && bytes[j] <= 57 { j += 1 }
            guard j > ds else { return nil }
            exponent = es..<j
        }
        if j < bytes.count, Self.isWordByte(bytes[j]) { return nil }
        i = j
        return (negative, intStart..<intEnd, frac, exponent)
    }

    public func digits(_ r: Range<Int>, max: UInt64) -> UInt64? {
        var v: UInt64 = 0
        for k in r {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(bytes[k] - 48))
            guard !o1 && !o2 && a <= max else { return nil }
            v = a
        }
        return v
    }

    /// A non-negative integer up to `max` (no fraction, no exponent).
    public mutating func unsigned(max: UInt64) -> UInt64? {
        let start = i
        guard let n = number(), !n.negative, n.frac.isEmpty, n.exponent == nil, let v = digits(n.int, max: max) else {
            i = start
            return nil
        }
        return v
    }

    public mutating func signedInteger() -> Int64? {
        let start = i
        guard let n = number(), n.frac.isEmpty, n.exponent == nil, let v = digits(n.int, max: UInt64(Int64.max)) else {
            i = start
            return nil
        }
        return n.negative ? -Int64(v) : Int64(v)
    }

    /// A non-negative decimal in units of 10^scaleDigits ns (6: milliseconds, 9: seconds) to
    /// nanoseconds: exact up to `scaleDigits` decimals, through Double otherwise.
    public mutating func decimalAsNanoseconds(scaleDigits: Int) -> UInt64? {
        let scale = JSONReader.powersOfTen[scaleDigits]
        let start = i
        guard let n = number(), !n.negative else {
            i = start
            return nil
        }
        if n.exponent == nil && n.frac.count <= scaleDigits, let whole = digits(n.int, max: UInt64.max / scale) {
            var frac = digits(n.frac, max: scale - 1) ?? 0
            for _ in n.frac.count..<scaleDigits { frac *= 10 }
            return whole * scale + frac
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        guard let d = Double(text), d.isFinite, d >= 0, d * Double(scale) < 1.8e19 else {
            i = start
            return nil
        }
        return UInt64(d * Double(scale))
    }

    /// Skips any JSON value, nesting bounded by `maxDepth`.
    public mutating func skipValue(depth: Int) throws(RecordLineError) {
        guard depth < JSONReader.maxDepth else { throw fail("nested too deeply") }
        skipSpace()
        guard let c = peek else { throw fail("missing value") }
        switch c {
        case UInt8(ascii: "\""):
            guard try rawString({ _ in }) else { throw fail("bad string") }
        case UInt8(ascii: "{"):
            _ = try members(depth: depth)
        case UInt8(ascii: "["):
            i += 1
            skipSpace()
            if peek == UInt8(ascii: "]") {
                i += 1
                return
            }
            while true {
                try skipValue(depth: depth + 1)
                skipSpace()
                guard let d = peek else { throw fail("unterminated array") }
                i += 1
                if d == UInt8(ascii: "]") { return }
                guard d == UInt8(ascii: ",") else {
                    i -= 1
                    throw fail("expected ',' or ']'")
                }
            }
        case UInt8(ascii: "n"):
            guard literal("null") else { throw fail("bad value") }
        case UInt8(ascii: "t"):
            guard literal("true") else { throw fail("bad value") }
        case UInt8(ascii: "f"):
            guard literal("false") else { throw fail("bad value") }
        default:
            guard number() != nil else { throw fail("bad value") }
        }
    }
}
