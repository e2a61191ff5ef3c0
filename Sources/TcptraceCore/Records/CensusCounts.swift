/// What `report --html` reads back from a `census` line: when, which namespace, and the count
/// per state (the rest of the record is passed over).
public struct CensusCounts: Hashable, Sendable, Record {
    public var time = WallTime(nanoseconds: 0)
    public var netns: UInt32?
    public var states: [TCPState: Int] = [:]
    public init() {}
    public init(time: WallTime, netns: UInt32?, states: [TCPState: Int]) {
        self.time = time
        self.netns = netns
        self.states = states
    }

    public static var type: StaticString { "census" }
    public static var jsonPrefix: StaticString { "{\"type\":\"census\",\"v\":" }
    public static var textTag: StaticString { "CENSUS" }

    public static func fields<V: FieldVisitor>(_ r: inout CensusCounts, _ v: inout V) {
        v.field("netns", &r.netns, Nullable<Integer<UInt32>>.self, text: .labeled(" netns "), "network namespace inode")
        v.field("states", &r.states, StateCounts.self, text: .plain, "sockets per state")
    }
}

/// `{"ESTABLISHED":3,…}`: a count per state name.
public enum StateCounts: FieldFormat {
    public typealias Value = [TCPState: Int]
    public static var jsonType: String { "object" }
    public static var maxBytes: Int { 2 }
    public static func extraBytes(_ value: Value) -> Int { value.count * 40 }
    public static func json(_ value: Value, _ c: inout ByteCursor) {
        c.byte(UInt8(ascii: "{"))
        for (i, (s, n)) in value.sorted(by: { $0.key < $1.key }).enumerated() {
            if i > 0 { c.byte(UInt8(ascii: ",")) }
            StateName.json(s, &c)
            c.byte(UInt8(ascii: ":"))
            c.decimal(UInt64(max(n, 0)))
        }
        c.byte(UInt8(ascii: "}"))
    }
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> Value? {
        guard p.peek == UInt8(ascii: "{") else { return nil }
        var out: Value = [:]
        for m in try p.members(depth: 1) {
            var q = p
            q.i = m.value.lowerBound
            guard let state = TCPState(name: p.keyText(m)), let n = q.unsigned(max: UInt64(Int32.max)) else { return nil }
            out[state] = Int(n)
        }
        return out
    }
}
