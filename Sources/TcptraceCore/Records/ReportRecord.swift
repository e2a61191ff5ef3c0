/// The `report` line `tcptrace-bpf report` writes before its summary: what it read. Declared
/// once (JSON line, README table); the text for people is `TextLines.appendInputStats`.
public struct ReportRecord: Hashable, Sendable, Record {
    public var time = WallTime(nanoseconds: 0)
    public var inputs: [String] = []
    public var stats = Replay.InputStats()
    public var closeWaitThresholdNanoseconds: UInt64 = 0
    public init() {}
    public init(_ stats: Replay.InputStats, end: WallTime, inputs: [String], closeWaitThresholdNanoseconds: UInt64) {
        self.time = end
        self.stats = stats
        self.inputs = inputs
        self.closeWaitThresholdNanoseconds = closeWaitThresholdNanoseconds
    }

    public static var type: StaticString { "report" }
    public static var jsonPrefix: StaticString { "{\"type\":\"report\",\"v\":" }
    public static var textTag: StaticString { "REPORT" }

    public static func fields<V: FieldVisitor>(_ r: inout ReportRecord, _ v: inout V) {
        v.field("inputs", &r.inputs, List<Text>.self, text: .hidden, "the files read, `-` for standard input")
        v.field("lines", &r.stats.lines, Integer<UInt64>.self, text: .hidden, "lines read")
        v.field("transitions", &r.stats.transitions, Integer<UInt64>.self, text: .hidden, "transition records among them")
        v.field(
            "malformed", &r.stats.malformed, Integer<UInt64>.self, text: .hidden,
            "lines that were not a record (malformed JSON, a missing field, a cut line)")
        v.field("other_records", &r.stats.otherRecords, Integer<UInt64>.self, text: .hidden, "records of other types, passed over")
        v.field("outside_window", &r.stats.outsideWindow, Integer<UInt64>.self, text: .hidden, "transitions outside `--since`/`--until`")
        v.field("reordered", &r.stats.reordered, Integer<UInt64>.self, text: .hidden, "transitions put back in time order")
        v.field("late", &r.stats.late, Integer<UInt64>.self, text: .hidden, "transitions too late for the reorder window, applied as they came")
        v.field("first", &r.stats.first, Nullable<Timestamp>.self, text: .hidden, "the earliest record time, null when none")
        v.field("last", &r.stats.last, Nullable<Timestamp>.self, text: .hidden, "the latest record time, null when none")
        v.field("close_wait_threshold_s", &r.closeWaitThresholdNanoseconds, Seconds.self, text: .hidden, "`--close-wait-threshold`")
    }
}
