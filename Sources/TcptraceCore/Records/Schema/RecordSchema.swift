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

    /// The same with none of them required when read back: a part that earlier builds of this
    /// schema version did not write.
    @inlinable @inline(__always)
    public mutating func optionalGroup<G: FieldGroup>(_ g: inout G) {
        var w = OptionalFields(inner: self)
        G.fields(&g, &w)
        self = w.inner
    }
}

/// Passes every field on as not required (see `optionalGroup`).
public struct OptionalFields<V: FieldVisitor>: FieldVisitor {
    public var inner: V
    @inlinable public init(inner: V) { self.inner = inner }
    @inlinable @inline(__always)
    public mutating func field<F: FieldFormat>(
        _ name: StaticString, _ value: inout F.Value, _ format: F.Type, text: TextStyle, required: Bool,
        _ meaning: StaticString
    ) {
        inner.field(name, &value, format, text: text, required: false, meaning)
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
    /// JSON leaves the field out altogether (name and value): see `Omitted`.
    static func isOmitted(_ value: Value) -> Bool
    /// One value at the reader; nil when it is not a valid value of this field.
    static func read(_ p: inout JSONReader) throws(RecordLineError) -> Value?
}

extension FieldFormat {
    @inlinable public static var isNullable: Bool { false }
    @inlinable @inline(__always) public static func extraBytes(_ value: Value) -> Int { 0 }
    @inlinable public static func isAbsent(_ value: Value) -> Bool { false }
    @inlinable @inline(__always) public static func isOmitted(_ value: Value) -> Bool { false }
    @inlinable public static func text(_ value: Value, _ c: inout ByteCursor) { json(value, &c) }
}
