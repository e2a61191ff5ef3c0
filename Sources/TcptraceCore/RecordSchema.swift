/// Records are declared once. Each record type (and each nested object) lists its fields in one
/// `fields` function: JSON name, value, format (the JSON type, how the value is written in JSON
/// and in text and read back), text style, and meaning. Visitors walk that one list to write
/// JSON lines (`JSONFieldWriter`, through one `ByteCursor`), to write text (`TextFieldWriter`),
/// to size the cursor's reservation (`ByteBound`), to read a line back (`FieldReader`) and to
/// print the README's schema tables (`SchemaTable`). Everything is generic and inlined: a
/// record's encoder compiles to the same straight stores a hand-written one would.

/// A record, or an object nested in one, declared field by field.
public protocol FieldGroup {
    /// Placeholder values that reading overwrites (required fields are checked for).
    init()
    /// Every field in JSON order. Fields are passed `inout` so that reading can fill them.
    static func fields<V: FieldVisitor>(_ r: inout Self, _ v: inout V)
}

/// A top-level record: one JSON line `{"type":…,"v":…,"time":…, fields…}`.
public protocol Record: FieldGroup {
    /// The `type` field.
    static var type: StaticString { get }
    /// `{"type":"<type>","v":`, written as one literal.
    static var jsonPrefix: StaticString { get }
    /// The word after the time in a text line ("" for none).
    static var textTag: StaticString { get }
    var time: WallTime { get set }
}

/// Walks a declaration.
public protocol FieldVisitor {
    mutating func field<F: FieldFormat>(
        _ name: StaticString, _ value: inout F.Value, _ format: F.Type, text: TextStyle, required: Bool,
        _ meaning: StaticString)
}

extension FieldVisitor {
    /// A required field unless its format is nullable.
    @inlinable @inline(__always)
    public mutating func field<F: FieldFormat>(
        _ name: StaticString, _ value: inout F.Value, _ format: F.Type, text: TextStyle, _ meaning: StaticString
    ) {
        field(name, &value, format, text: text, required: !F.isNullable, meaning)
    }

    /// The fields of `group` as if declared here (flattened into this object).
    @inlinable @inline(__always)
    public mutating func group<G: FieldGroup>(_ g: inout G) {
        G.fields(&g, &self)
    }
}

/// Where and how a field appears in a text line for people.
public struct TextStyle: Sendable {
    /// Not shown in text.
    public var shown: Bool
    /// Written before the value: a separator or a label.
    public var prefix: StaticString
    public var suffix: StaticString
    /// Written instead of the value when it is absent (null, false); nil: the field is left out.
    public var absent: StaticString?
    /// Padding: the text since the start of the group (see `startsGroup`) is padded with spaces
    /// to this width (0: none).
    public var width: Int
    /// This field starts a group that a later field's `width` pads (e.g. address and port).
    public var startsGroup: Bool

    @inlinable
    public init(
        shown: Bool = true, prefix: StaticString = " ", suffix: StaticString = "", absent: StaticString? = nil,
        width: Int = 0, startsGroup: Bool = true
    ) {
        self.shown = shown
        self.prefix = prefix
        self.suffix = suffix
        self.absent = absent
        self.width = width
        self.startsGroup = startsGroup
    }

    // Computed, not stored: a stored static is a lazily initialized global, and every field
    // of every line would call its accessor even where the style is not used (JSON).
    @inlinable public static var hidden: TextStyle { TextStyle(shown: false) }
    /// The value after a space.
    @inlinable public static var plain: TextStyle { TextStyle() }

    /// The value after a space, padded to `width`.
    @inlinable
    public static func column(_ width: Int, absent: StaticString? = "-") -> TextStyle {
        TextStyle(absent: absent, width: width)
    }

    /// `label value suffix`, left out when absent.
    @inlinable
    public static func labeled(_ label: StaticString, suffix: StaticString = "") -> TextStyle {
        TextStyle(prefix: label, suffix: suffix)
    }

    /// Only the label, when the (boolean) value is true.
    @inlinable
    public static func flag(_ label: StaticString) -> TextStyle { TextStyle(prefix: label) }
}

// MARK: - Formats

/// How one field's value is written in JSON and in text, and read back from JSON.
public protocol FieldFormat {
    associatedtype Value
    /// The JSON type as the README's schema tables show it.
    static var jsonType: String { get }
    static var isNullable: Bool { get }
    /// At most this many bytes of JSON, and of text, for any value, plus `extraBytes(value)`.
    /// Split so that a record's bound folds to a constant plus its strings' lengths: a
    /// nullable field's bound is then `max(F.maxBytes, 4)` without a test of the value.
    static var maxBytes: Int { get }
    /// What `value` may need beyond `maxBytes` (text and lists, whose length varies); 0 for most.
    static func extraBytes(_ value: Value) -> Int
    static func json(_ value: Value, _ c: inout ByteCursor)
    static func text(_ value: Value, _ c: inout ByteCursor)
    /// Text leaves absent values out (or marks them).
    static func isAbsent(_ value: Value) -> Bool
    /// One value at the reader; nil when it is not a valid value of this field.
    static func read(_ p: inout JSONReader) throws(RecordLineError) -> Value?
}

extension FieldFormat {
    @inlinable public static var isNullable: Bool { false }
    @inlinable @inline(__always) public static func extraBytes(_ value: Value) -> Int { 0 }
    @inlinable public static func isAbsent(_ value: Value) -> Bool { false }
    @inlinable public static func text(_ value: Value, _ c: inout ByteCursor) { json(value, &c) }
}

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

/// A duration in nanoseconds written as milliseconds with microsecond precision (`1.234`).
public enum Milliseconds: FieldFormat {
    public typealias Value = UInt64
    public static var jsonType: String { "number" }
    @inlinable public static var maxBytes: Int { 21 }
    @inlinable @inline(__always)
    public static func json(_ ns: UInt64, _ c: inout ByteCursor) {
        c.decimal(ns / 1_000_000)
        c.byte(UInt8(ascii: "."))
        c.decimal(ns % 1_000_000 / 1_000, width: 3)
    }
    @inlinable
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> UInt64? { p.decimalAsNanoseconds(scaleDigits: 6) }
}

/// A duration in nanoseconds written as seconds with millisecond precision (`12.345`).
public enum Seconds: FieldFormat {
    public typealias Value = UInt64
    public static var jsonType: String { "number" }
    @inlinable public static var maxBytes: Int { 21 }
    @inlinable @inline(__always)
    public static func json(_ ns: UInt64, _ c: inout ByteCursor) {
        c.decimal(ns / 1_000_000_000)
        c.byte(UInt8(ascii: "."))
        c.decimal(ns % 1_000_000_000 / 1_000_000, width: 3)
    }
    @inlinable
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> UInt64? { p.decimalAsNanoseconds(scaleDigits: 9) }
}

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

/// Sums the most bytes each field can take (name, quotes, colon, comma and value).
public struct ByteBound: FieldVisitor {
    public var bytes = 0
    @inlinable public init() {}
    @inlinable @inline(__always)
    public mutating func field<F: FieldFormat>(
        _ name: StaticString, _ value: inout F.Value, _ format: F.Type, text: TextStyle, required: Bool,
        _ meaning: StaticString
    ) {
        // JSON: ,"name": value — text: prefix value suffix, padded.
        bytes &+= max(name.utf8CodeUnitCount &+ 4, text.prefix.utf8CodeUnitCount &+ text.suffix.utf8CodeUnitCount &+ text.width)
            &+ F.maxBytes &+ F.extraBytes(value)
    }
}

/// Writes `"name":value` for each field, comma-separated.
public struct JSONFieldWriter: FieldVisitor {
    public var cursor: ByteCursor
    @usableFromInline var first: Bool
    @inlinable public init(cursor: ByteCursor, first: Bool) {
        self.cursor = cursor
        self.first = first
    }
    @inlinable @inline(__always)
    public mutating func field<F: FieldFormat>(
        _ name: StaticString, _ value: inout F.Value, _ format: F.Type, text: TextStyle, required: Bool,
        _ meaning: StaticString
    ) {
        cursor.jsonKey(name, comma: !first)
        first = false
        F.json(value, &cursor)
    }
}

/// Writes each shown field as its style says.
public struct TextFieldWriter: FieldVisitor {
    public var cursor: ByteCursor
    @usableFromInline var first: Bool
    @usableFromInline var groupStart: UnsafeMutablePointer<UInt8>
    @inlinable public init(cursor: ByteCursor, first: Bool) {
        self.cursor = cursor
        self.first = first
        self.groupStart = cursor.p
    }
    @inlinable @inline(__always)
    public mutating func field<F: FieldFormat>(
        _ name: StaticString, _ value: inout F.Value, _ format: F.Type, text style: TextStyle, required: Bool,
        _ meaning: StaticString
    ) {
        guard style.shown else { return }
        let absent = F.isAbsent(value)
        if absent && style.absent == nil { return }
        if first {
            first = false
        } else {
            if style.startsGroup { groupStart = cursor.p }
            cursor.ascii(style.prefix)
        }
        if absent {
            cursor.ascii(style.absent!)
        } else {
            F.text(value, &cursor)
            cursor.ascii(style.suffix)
        }
        let used = cursor.p - groupStart
        if used < style.width {
            for _ in used..<style.width { cursor.byte(UInt8(ascii: " ")) }
        }
    }
}

/// Reads the fields of one object from its members (found by `JSONReader.members`).
public struct FieldReader: FieldVisitor {
    @usableFromInline let reader: JSONReader
    @usableFromInline let members: [JSONReader.Member]
    /// The first field whose value was bad (its path, `owner.pid` for a nested one), and the
    /// first required field that was missing.
    public var badField: String?
    public var missingField: String?
    @usableFromInline var next = 0

    @inlinable init(reader: JSONReader, members: [JSONReader.Member]) {
        self.reader = reader
        self.members = members
    }

    /// What was wrong, bad values first (as the line reads), as the error message says it.
    public var problem: String? {
        if let badField { return "bad value for \"\(badField)\"" }
        if let missingField { return "no \"\(missingField)\" field" }
        return nil
    }

    public mutating func field<F: FieldFormat>(
        _ name: StaticString, _ value: inout F.Value, _ format: F.Type, text: TextStyle, required: Bool,
        _ meaning: StaticString
    ) {
        // Lines are written in declaration order: look where the last field ended first.
        var found: JSONReader.Member? = nil
        for k in 0..<members.count {
            let m = members[(next &+ k) % members.count]
            if reader.keyEquals(m, name) {
                found = m
                next = (next &+ k &+ 1) % members.count
                break
            }
        }
        guard let m = found else {
            if required && missingField == nil { missingField = name.description }
            return
        }
        var p = reader
        p.i = m.value.lowerBound
        do throws(RecordLineError) {
            if let v = try F.read(&p), p.i == m.value.upperBound {
                value = v
                return
            }
            if badField == nil { badField = name.description }
        } catch {
            // A nested object names its own bad field.
            if badField == nil {
                if case .badField(let inner) = error { badField = "\(name).\(inner)" } else { badField = name.description }
            }
        }
    }
}

/// Rows of a README schema table: `| field | type | meaning |`.
public struct SchemaTable: FieldVisitor {
    public var rows: [(name: String, type: String, meaning: String)] = []
    var prefix = ""
    public init() {}
    public mutating func field<F: FieldFormat>(
        _ name: StaticString, _ value: inout F.Value, _ format: F.Type, text: TextStyle, required: Bool,
        _ meaning: StaticString
    ) {
        let full = prefix + name.description
        rows.append((full, F.jsonType, meaning.description))
        // Nested objects list their fields too, as `owner.pid`.
        if let nested = F.self as? any NestedSchema.Type {
            let saved = prefix
            prefix = full + (F.jsonType.hasPrefix("array") ? "[]." : ".")
            nested.describe(into: &self)
            prefix = saved
        }
    }

    /// The markdown table of a record, header fields included.
    public static func markdown<R: Record>(_ type: R.Type) -> String {
        var t = SchemaTable()
        t.rows = [
            ("type", "\"\(R.type)\"", "the record type"),
            ("v", "integer", "schema version, `\(JSONLines.schemaVersion)`"),
            ("time", "string", "RFC 3339, UTC, nanoseconds"),
        ]
        var r = R()
        R.fields(&r, &t)
        var out = "| field | type | meaning |\n|---|---|---|\n"
        for row in t.rows {
            let type = row.type.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|")
            out += "| `\(row.name)` | \(type) | \(row.meaning) |\n"
        }
        return out
    }
}

/// Formats with fields of their own (objects, lists of objects), for `SchemaTable`.
protocol NestedSchema {
    static func describe(into t: inout SchemaTable)
}

extension Object: NestedSchema {
    static func describe(into t: inout SchemaTable) {
        var g = G()
        G.fields(&g, &t)
    }
}

extension List: NestedSchema where F: NestedSchema {
    static func describe(into t: inout SchemaTable) { F.describe(into: &t) }
}

extension Nullable: NestedSchema where F: NestedSchema {
    static func describe(into t: inout SchemaTable) { F.describe(into: &t) }
}

// MARK: - Encoding whole records

extension Record {
    /// At most this many bytes for the line (JSON or text).
    @inlinable @inline(__always)
    public func maxLineBytes() -> Int {
        var r = self
        return Self.maxLineBytes(&r)
    }

    /// The same without a copy of the record.
    @inlinable @inline(__always)
    public static func maxLineBytes(_ r: inout Self) -> Int {
        var bound = ByteBound()
        Self.fields(&r, &bound)
        return bound.bytes &+ 96
    }
}

extension JSONLines {
    /// One line of any record, newline included, reusing the formatted second from `timeCache`.
    @inlinable @inline(__always)
    public static func append<R: Record>(_ record: inout R, to out: inout [UInt8], timeCache: inout RFC3339Cache) {
        out.appendThroughCursor(maxBytes: R.maxLineBytes(&record)) { c in
            c.ascii(R.jsonPrefix)
            c.decimal(UInt64(schemaVersion))
            c.ascii(",\"time\":\"")
            record.time.appendRFC3339(to: &c, cache: &timeCache)
            c.byte(UInt8(ascii: "\""))
            var w = JSONFieldWriter(cursor: c, first: false)
            R.fields(&record, &w)
            c = w.cursor
            c.ascii("}\n")
        }
    }
}

extension TextLines {
    /// One text line of any record: local time, the record's tag, then its shown fields.
    @inlinable
    public func appendRecord<R: Record>(_ record: inout R, to out: inout [UInt8]) {
        record.time.appendTimeOfDay(utcOffsetSeconds: utcOffsetSeconds, to: &out)
        out.appendThroughCursor(maxBytes: R.maxLineBytes(&record)) { c in
            if R.textTag.utf8CodeUnitCount > 0 {
                c.byte(UInt8(ascii: " "))
                c.ascii(R.textTag)
            }
            var w = TextFieldWriter(cursor: c, first: false)
            R.fields(&record, &w)
            c = w.cursor
            c.byte(UInt8(ascii: "\n"))
        }
    }
}

/// A string.
public enum Text: FieldFormat {
    public typealias Value = String
    public static var jsonType: String { "string" }
    @inlinable public static var maxBytes: Int { 2 }
    @inlinable public static func extraBytes(_ value: String) -> Int { 6 * value.utf8.count }
    @inlinable
    public static func json(_ s: String, _ c: inout ByteCursor) { c.jsonString(s) }
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> String? { p.stringValue() }
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
