/// `F`'s value or null.
public enum Nullable<F: FieldFormat>: FieldFormat {
    public typealias Value = F.Value?
    public static var jsonType: String { F.jsonType + " | null" }
    @inlinable public static var isNullable: Bool { true }
    @inlinable public static var maxBytes: Int { max(F.maxBytes, 4) }
    @inlinable @inline(__always)
    public static func extraBytes(_ value: Value) -> Int {
        if let value { return F.extraBytes(value) } else { return 0 }
    }
    @inlinable @inline(__always)
    public static func json(_ value: Value, _ c: inout ByteCursor) {
        if let value { F.json(value, &c) } else { c.ascii("null") }
    }
    @inlinable @inline(__always)
    public static func text(_ value: Value, _ c: inout ByteCursor) {
        if let value { F.text(value, &c) }
    }
    @inlinable @inline(__always)
    public static func isAbsent(_ value: Value) -> Bool {
        if let value { return F.isAbsent(value) } else { return true }
    }
    @inlinable
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> Value? {
        if p.null() { return .some(nil) }
        guard let v = try F.read(&p) else { return nil }
        return .some(v)
    }
}

/// `F`'s value, or nothing at all: the field is left out of the JSON line when nil (for
/// fields a record has only under some condition, as `census`'s `port_range.usable`).
public enum Omitted<F: FieldFormat>: FieldFormat {
    public typealias Value = F.Value?
    public static var jsonType: String { F.jsonType + " | absent" }
    @inlinable public static var isNullable: Bool { true }
    @inlinable public static var maxBytes: Int { F.maxBytes }
    @inlinable @inline(__always)
    public static func extraBytes(_ value: Value) -> Int { value.map(F.extraBytes) ?? 0 }
    @inlinable @inline(__always)
    public static func json(_ value: Value, _ c: inout ByteCursor) { if let value { F.json(value, &c) } }
    @inlinable @inline(__always)
    public static func text(_ value: Value, _ c: inout ByteCursor) { if let value { F.text(value, &c) } }
    @inlinable @inline(__always)
    public static func isAbsent(_ value: Value) -> Bool { value.map(F.isAbsent) ?? true }
    @inlinable @inline(__always) public static func isOmitted(_ value: Value) -> Bool { value == nil }
    @inlinable
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> Value? {
        guard let v = try F.read(&p) else { return nil }
        return .some(v)
    }
}

/// A non-negative integer.
public enum Integer<T: FixedWidthInteger & UnsignedInteger>: FieldFormat {
    public typealias Value = T
    public static var jsonType: String { "integer" }
    @inlinable public static var maxBytes: Int { 20 }
    @inlinable @inline(__always)
    public static func json(_ value: T, _ c: inout ByteCursor) { c.decimal(UInt64(value)) }
    @inlinable
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> T? {
        p.unsigned(max: UInt64(T.max)).map { T(truncatingIfNeeded: $0) }
    }
}

/// An integer that may be negative (a file descriptor, the schema version).
public enum Signed<T: FixedWidthInteger & SignedInteger>: FieldFormat {
    public typealias Value = T
    public static var jsonType: String { "integer" }
    @inlinable public static var maxBytes: Int { 20 }
    @inlinable @inline(__always)
    public static func json(_ value: T, _ c: inout ByteCursor) {
        if value < 0 { c.byte(UInt8(ascii: "-")) }
        c.decimal(UInt64(value.magnitude))
    }
    @inlinable
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> T? {
        p.signedInteger().flatMap { T(exactly: $0) }
    }
}

/// Where the point goes in a fixed-point number: the value is held in units of
/// 10^-`scaleDigits` and written with `decimals` digits after the point (the rest cut off).
public protocol DecimalScale {
    static var scaleDigits: Int { get }
    static var decimals: Int { get }
}

/// A non-negative fixed-point number, held as an integer (see `DecimalScale`).
public enum Fixed<S: DecimalScale>: FieldFormat {
    public typealias Value = UInt64
    public static var jsonType: String { "number" }
    @inlinable public static var maxBytes: Int { 21 }
    @inlinable @inline(__always)
    public static func json(_ v: UInt64, _ c: inout ByteCursor) {
        let scale = ByteCursor.powerOf10(S.scaleDigits)
        c.decimal(v / scale)
        c.byte(UInt8(ascii: "."))
        c.decimal(v % scale / ByteCursor.powerOf10(S.scaleDigits - S.decimals), width: S.decimals)
    }
    @inlinable
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> UInt64? {
        // The reader gives millionths.
        guard let micro = p.decimalAsNanoseconds(scaleDigits: 6) else { return nil }
        if S.scaleDigits >= 6 {
            let (v, overflow) = micro.multipliedReportingOverflow(by: ByteCursor.powerOf10(S.scaleDigits - 6))
            return overflow ? nil : v
        }
        return micro / ByteCursor.powerOf10(6 - S.scaleDigits)
    }
}

/// Nanoseconds as milliseconds with microsecond precision (`1.234`).
public enum MillisecondScale: DecimalScale {
    @inlinable public static var scaleDigits: Int { 6 }
    @inlinable public static var decimals: Int { 3 }
}
/// Nanoseconds as seconds with millisecond precision (`12.345`).
public enum SecondScale: DecimalScale {
    @inlinable public static var scaleDigits: Int { 9 }
    @inlinable public static var decimals: Int { 3 }
}
/// Thousandths with three decimals (a rate per second: `6.126`).
public enum ThousandthScale: DecimalScale {
    @inlinable public static var scaleDigits: Int { 3 }
    @inlinable public static var decimals: Int { 3 }
}
/// Tenths with one decimal (a percentage: `0.4`).
public enum TenthScale: DecimalScale {
    @inlinable public static var scaleDigits: Int { 1 }
    @inlinable public static var decimals: Int { 1 }
}

public typealias Milliseconds = Fixed<MillisecondScale>
public typealias Seconds = Fixed<SecondScale>
public typealias Rate = Fixed<ThousandthScale>
public typealias Tenths = Fixed<TenthScale>

/// A TCP state as the kernel spells it.
public enum StateName: FieldFormat {
    public typealias Value = TCPState
    public static var jsonType: String { "string" }
    @inlinable public static var maxBytes: Int { 16 }
    @inlinable @inline(__always)
    public static func json(_ s: TCPState, _ c: inout ByteCursor) {
        c.byte(UInt8(ascii: "\""))
        c.state(s)
        c.byte(UInt8(ascii: "\""))
    }
    @inlinable @inline(__always)
    public static func text(_ s: TCPState, _ c: inout ByteCursor) { c.state(s) }
    @inlinable
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> TCPState? { p.withRawString(TCPState.init(utf8:)) }
}

/// A process's command name.
public enum Comm: FieldFormat {
    public typealias Value = CommName
    public static var jsonType: String { "string" }
    /// JSON escapes a byte to at most 6.
    @inlinable public static var maxBytes: Int { 2 }
    @inlinable @inline(__always) public static func extraBytes(_ value: CommName) -> Int { 6 &* value.count }
    @inlinable @inline(__always)
    public static func json(_ s: CommName, _ c: inout ByteCursor) { c.jsonString(s) }
    /// Control characters would break the line: shown as `?`.
    @inlinable
    public static func text(_ s: CommName, _ c: inout ByteCursor) {
        s.withUTF8 { u in
            for b in u { c.byte(b < 0x20 || b == 0x7f ? UInt8(ascii: "?") : b) }
        }
    }
    @inlinable
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> CommName? {
        p.withRawString { CommName(String(decoding: $0, as: UTF8.self)) }
    }
}

/// An IPv4 or IPv6 address (RFC 5952 text); in text, IPv6 is bracketed (it precedes a port).
public enum Address: FieldFormat {
    public typealias Value = IPAddress
    public static var jsonType: String { "string" }
    @inlinable public static var maxBytes: Int { 43 }
    @inlinable @inline(__always)
    public static func json(_ a: IPAddress, _ c: inout ByteCursor) {
        c.byte(UInt8(ascii: "\""))
        a.append(to: &c)
        c.byte(UInt8(ascii: "\""))
    }
    @inlinable
    public static func text(_ a: IPAddress, _ c: inout ByteCursor) {
        if case .v6 = a {
            c.byte(UInt8(ascii: "["))
            a.append(to: &c)
            c.byte(UInt8(ascii: "]"))
        } else {
            a.append(to: &c)
        }
    }
    @inlinable
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> IPAddress? { p.withRawString(IPAddress.init(utf8:)) }
}

/// One of a fixed set of words.
public enum Keyword<E: RawRepresentable & CaseIterable>: FieldFormat where E.RawValue == String {
    public typealias Value = E
    public static var jsonType: String { E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " | ") }
    @inlinable public static var maxBytes: Int { 2 }
    @inlinable public static func extraBytes(_ value: E) -> Int { value.rawValue.utf8.count }
    @inlinable @inline(__always)
    public static func json(_ e: E, _ c: inout ByteCursor) {
        c.byte(UInt8(ascii: "\""))
        c.text(e.rawValue)
        c.byte(UInt8(ascii: "\""))
    }
    @inlinable
    public static func text(_ e: E, _ c: inout ByteCursor) { c.text(e.rawValue) }
    @inlinable
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> E? {
        p.withRawString { E(rawValue: String(decoding: $0, as: UTF8.self)) }
    }
}

/// true or false; text shows only the label, and only when true.
public enum Boolean: FieldFormat {
    public typealias Value = Bool
    public static var jsonType: String { "boolean" }
    @inlinable public static var maxBytes: Int { 5 }
    @inlinable @inline(__always)
    public static func json(_ b: Bool, _ c: inout ByteCursor) { c.ascii(b ? "true" : "false") }
    @inlinable public static func text(_ b: Bool, _ c: inout ByteCursor) {}
    @inlinable public static func isAbsent(_ b: Bool) -> Bool { !b }
    @inlinable
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> Bool? {
        if p.literal("true") { return true }
        if p.literal("false") { return false }
        return nil
    }
}

/// A nested object, declared by its own `fields`.
public enum Object<G: FieldGroup>: FieldFormat {
    public typealias Value = G
    public static var jsonType: String { "object" }
    /// The braces; the fields are counted from the value (their bounds fold to constants).
    @inlinable public static var maxBytes: Int { 2 }
    @inlinable @inline(__always)
    public static func extraBytes(_ value: G) -> Int {
        var g = value
        var bound = ByteBound()
        G.fields(&g, &bound)
        return bound.bytes
    }
    @inlinable @inline(__always)
    public static func json(_ value: G, _ c: inout ByteCursor) {
        var g = value
        c.byte(UInt8(ascii: "{"))
        var w = JSONFieldWriter(cursor: c, first: true)
        G.fields(&g, &w)
        c = w.cursor
        c.byte(UInt8(ascii: "}"))
    }
    @inlinable
    public static func text(_ value: G, _ c: inout ByteCursor) {
        var g = value
        var w = TextFieldWriter(cursor: c, first: true)
        G.fields(&g, &w)
        c = w.cursor
    }
    @inlinable
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> G? {
        guard p.peek == UInt8(ascii: "{") else { return nil }
        let members = try p.members(depth: 1)
        var g = G()
        var r = FieldReader(reader: p, members: members)
        G.fields(&g, &r)
        if let bad = r.badField { throw .badField(bad) }
        if let missing = r.missingField { throw .badField(missing) }
        return g
    }
}

/// An array of `F` values; text: `[a b c]`.
public enum List<F: FieldFormat>: FieldFormat {
    public typealias Value = [F.Value]
    public static var jsonType: String { "array" }
    @inlinable public static var maxBytes: Int { 2 }
    @inlinable
    public static func extraBytes(_ value: [F.Value]) -> Int {
        var n = 0
        for e in value { n &+= F.maxBytes &+ F.extraBytes(e) &+ 1 }
        return n
    }
    @inlinable
    public static func json(_ value: [F.Value], _ c: inout ByteCursor) {
        c.byte(UInt8(ascii: "["))
        for (i, e) in value.enumerated() {
            if i > 0 { c.byte(UInt8(ascii: ",")) }
            F.json(e, &c)
        }
        c.byte(UInt8(ascii: "]"))
    }
    @inlinable
    public static func text(_ value: [F.Value], _ c: inout ByteCursor) {
        c.byte(UInt8(ascii: "["))
        for (i, e) in value.enumerated() {
            if i > 0 { c.byte(UInt8(ascii: " ")) }
            F.text(e, &c)
        }
        c.byte(UInt8(ascii: "]"))
    }
    @inlinable
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> [F.Value]? {
        var out: [F.Value] = []
        var ok = true
        guard
            try p.elements(depth: 1, { (p) throws(RecordLineError) in
                if let v = try F.read(&p) { out.append(v) } else { ok = false }
            })
        else { return nil }
        return ok ? out : nil
    }
}

// MARK: - Visitors

/// A string in JSON: what `Text` and the strings written otherwise in text (`BareText`) share.
public protocol StringField: FieldFormat where Value == String {}

extension StringField {
    public static var jsonType: String { "string" }
    @inlinable public static var maxBytes: Int { 2 }
    @inlinable public static func extraBytes(_ value: String) -> Int { 6 * value.utf8.count }
    @inlinable
    public static func json(_ s: String, _ c: inout ByteCursor) { c.jsonString(s) }
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> String? { p.stringValue() }
}

/// A string.
public enum Text: StringField {
    public typealias Value = String
}

/// A wall-clock time: RFC 3339, UTC, nanoseconds.
public enum Timestamp: FieldFormat {
    public typealias Value = WallTime
    public static var jsonType: String { "string" }
    @inlinable public static var maxBytes: Int { 40 }
    @inlinable
    public static func json(_ t: WallTime, _ c: inout ByteCursor) {
        var cache = RFC3339Cache()
        c.byte(UInt8(ascii: "\""))
        t.appendRFC3339(to: &c, cache: &cache)
        c.byte(UInt8(ascii: "\""))
    }
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> WallTime? {
        p.withRawString { WallTime(rfc3339Bytes: $0) }
    }
}

/// `"ipv4"` or `"ipv6"`, written as one literal each.
public enum Family: FieldFormat {
    public typealias Value = AddressFamily
    public static var jsonType: String { "\"ipv4\" | \"ipv6\"" }
    @inlinable public static var maxBytes: Int { 6 }
    @inlinable @inline(__always)
    public static func json(_ f: AddressFamily, _ c: inout ByteCursor) { c.ascii(f == .ipv4 ? "\"ipv4\"" : "\"ipv6\"") }
    @inlinable public static func text(_ f: AddressFamily, _ c: inout ByteCursor) { c.ascii(f == .ipv4 ? "ipv4" : "ipv6") }
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> AddressFamily? {
        p.withRawString { AddressFamily(rawValue: String(decoding: $0, as: UTF8.self)) }
    }
}
