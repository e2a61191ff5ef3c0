/// A finding as a JSON line: `trace` writes one when a finding opens, changes severity and
/// closes; `report` derives the same from a recorded log; `diagnose` writes the open ones.
@dynamicMemberLookup
public struct FindingRecord: Hashable, Sendable, Record {
    public enum Event: String, Sendable, CaseIterable {
        /// First seen now.
        case open
        /// Its severity changed (up or down).
        case changed
        /// Its evidence is gone: the problem ended (or, at the end of a run, left as it was).
        case closed
        /// `diagnose` and the end of `report`: open when the run or the log ended.
        case present
    }

    public var time: WallTime
    public var event: Event
    /// What the record says of it (`r.title` and the others read through to it).
    public var finding: Finding

    public init(event: Event, time: WallTime, finding f: Finding) {
        self.time = time
        self.event = event
        finding = f
    }

    public init() {
        self.init(
            event: .open, time: WallTime(nanoseconds: 0),
            finding: Finding(
                id: "", kind: .sysctl, severity: .info, subject: FindingSubject(), title: "", evidence: [], advice: "", fact: "",
                firstSeen: WallTime(nanoseconds: 0), lastSeen: WallTime(nanoseconds: 0)))
    }

    public subscript<T>(dynamicMember path: WritableKeyPath<Finding, T>) -> T {
        get { finding[keyPath: path] }
        set { finding[keyPath: path] = newValue }
    }

    public static var type: StaticString { "finding" }
    public static var jsonPrefix: StaticString { "{\"type\":\"finding\",\"v\":" }
    public static var textTag: StaticString { "FINDING" }

    public static func fields<V: FieldVisitor>(_ r: inout FindingRecord, _ v: inout V) {
        v.field(
            "event", &r.event, Keyword<Event>.self, text: .plain,
            "opened / severity changed / ended / `diagnose` and the end of `report`: open when the run or log ended")
        v.field("id", &r.finding.id, Text.self, text: .hidden, "stable while the problem lasts: kind and subject, e.g. `close_wait_leak/pid:612`")
        v.field("kind", &r.finding.kind, Keyword<FindingKind>.self, text: .plain, "what the finding is about (see the kinds table)")
        v.field("severity", &r.finding.severity, Keyword<FindingSeverity>.self, text: .plain, "`critical` and `warning` alarm; `info` never does")
        v.field("subject", &r.finding.subject, Object<FindingSubject>.self, text: .plain, "who or what it is about")
        v.field("title", &r.finding.title, Text.self, text: .labeled(": "), "one line: what is wrong")
        v.field("evidence", &r.finding.evidence, List<Object<FindingEvidence>>.self, text: .plain, "the numbers behind it, each with its source")
        v.field("advice", &r.finding.advice, Text.self, text: .labeled(" advice: "), "what to do")
        v.field("fact", &r.finding.fact, Text.self, text: .hidden, "the kernel fact behind the advice, and where it is documented")
        v.field("first_seen", &r.finding.firstSeen, Timestamp.self, text: .hidden, "when the evidence first showed it")
        v.field("last_seen", &r.finding.lastSeen, Timestamp.self, text: .hidden, "when the evidence last showed it")
    }
}
