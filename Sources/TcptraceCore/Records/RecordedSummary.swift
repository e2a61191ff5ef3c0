/// What `report --html` reads back from a live run's `summary` line: the events it lost.
public struct RecordedSummary: Hashable, Sendable, Record {
    public var time = WallTime(nanoseconds: 0)
    public var lost = LostEvents()
    public init() {}

    public static var type: StaticString { "summary" }
    public static var jsonPrefix: StaticString { "{\"type\":\"summary\",\"v\":" }
    public static var textTag: StaticString { "SUMMARY" }

    public static func fields<V: FieldVisitor>(_ r: inout RecordedSummary, _ v: inout V) {
        v.field("lost", &r.lost, Object<LostEvents>.self, text: .plain, "events the run lost, by cause")
    }
}

extension LostEvents: FieldGroup {
    public static func fields<V: FieldVisitor>(_ r: inout LostEvents, _ v: inout V) {
        v.field("ringbuf_full", &r.ringBufferFull, Integer<UInt64>.self, text: .plain, "ring buffer reservations that failed")
        v.field("recursion_misses", &r.recursionMisses, Integer<UInt64>.self, text: .plain, "tracepoint hits skipped")
        v.field("undecodable", &r.undecodable, Integer<UInt64>.self, text: .plain, "records that could not be decoded")
        v.field(
            "unseen", &r.unseen, Integer<UInt64>.self, text: .plain, required: false,
            "gaps: transitions of a socket for which the kernel ran neither program (at least one each)")
    }
}
