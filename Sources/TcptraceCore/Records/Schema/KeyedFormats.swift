/// Objects whose member names are data (`{"ESTABLISHED":3,…}`): written, read back and
/// described like the formats in FieldFormats.swift.

/// One member of a keyed object.
public struct Keyed<Key, Value> {
    public var key: Key
    public var value: Value
    public init(_ key: Key, _ value: Value) {
        self.key = key
        self.value = value
    }
}
extension Keyed: Sendable where Key: Sendable, Value: Sendable {}
extension Keyed: Equatable where Key: Equatable, Value: Equatable {}
extension Keyed: Hashable where Key: Hashable, Value: Hashable {}

/// How a key is spelled inside the quotes of a JSON object's member name.
public protocol KeyFormat {
    associatedtype Key
    /// What the README says the keys are.
    static var keyName: String { get }
    static var maxBytes: Int { get }
    static func write(_ key: Key, _ c: inout ByteCursor)
    static func read(_ text: String) -> Key?
}

/// A state name as the kernel spells it.
public enum StateKey: KeyFormat {
    public static var keyName: String { "state name" }
    public static var maxBytes: Int { 16 }
    public static func write(_ s: TCPState, _ c: inout ByteCursor) { c.state(s) }
    public static func read(_ text: String) -> TCPState? { TCPState(name: text) }
}

/// `OLD->NEW`.
public enum StatePairKey: KeyFormat {
    public static var keyName: String { "`\"OLD->NEW\"`" }
    public static var maxBytes: Int { 34 }
    public static func write(_ p: StatePair, _ c: inout ByteCursor) {
        c.state(p.old)
        c.ascii("->")
        c.state(p.new)
    }
    public static func read(_ text: String) -> StatePair? {
        let u = Array(text.utf8)
        guard let i = u.indices.first(where: { u[$0] == UInt8(ascii: "-") && $0 + 1 < u.count && u[$0 + 1] == UInt8(ascii: ">") }),
            let old = TCPState(name: String(decoding: u[..<i], as: UTF8.self)),
            let new = TCPState(name: String(decoding: u[(i + 2)...], as: UTF8.self))
        else { return nil }
        return StatePair(old, new)
    }
}

/// A JSON object whose member names are data (`K`) and whose values are `F`, in the order held.
public enum KeyedObject<K: KeyFormat, F: FieldFormat>: FieldFormat {
    public typealias Value = [Keyed<K.Key, F.Value>]
    public static var jsonType: String { "object: \(K.keyName) → \(F.jsonType)" }
    public static var maxBytes: Int { 2 }
    public static func extraBytes(_ value: Value) -> Int {
        var n = 0
        for e in value { n &+= K.maxBytes &+ 4 &+ F.maxBytes &+ F.extraBytes(e.value) }
        return n
    }
    public static func json(_ value: Value, _ c: inout ByteCursor) {
        c.byte(UInt8(ascii: "{"))
        for (i, e) in value.enumerated() {
            if i > 0 { c.byte(UInt8(ascii: ",")) }
            c.byte(UInt8(ascii: "\""))
            K.write(e.key, &c)
            c.two(UInt8(ascii: "\""), UInt8(ascii: ":"))
            F.json(e.value, &c)
        }
        c.byte(UInt8(ascii: "}"))
    }
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> Value? {
        guard p.peek == UInt8(ascii: "{") else { return nil }
        var out: Value = []
        for m in try p.members(depth: 1) {
            var q = p
            q.i = m.value.lowerBound
            guard let key = K.read(p.keyText(m)), let v = try F.read(&q), q.i == m.value.upperBound else { return nil }
            out.append(Keyed(key, v))
        }
        return out
    }
}

extension Fixed where S == ThousandthScale {
    /// `n` events over `seconds`, in thousandths per second.
    public static func of(_ n: UInt64, over seconds: Double) -> UInt64 { UInt64((Double(n) / seconds * 1000).rounded()) }
}

extension KeyedObject: NestedSchema where F: NestedSchema {
    static var step: String { ".<\(K.keyName.filter { $0 != "`" && $0 != "\"" })>." }
    static func describe(into t: inout SchemaTable) { F.describe(into: &t) }
}
