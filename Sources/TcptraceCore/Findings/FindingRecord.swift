/// A finding as a JSON line: `trace` writes one when a finding opens, changes severity and
/// closes; `report` derives the same from a recorded log; `diagnose` writes the open ones.
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
    public var id: String
    public var kind: FindingKind
    public var severity: FindingSeverity
    public var subject: FindingSubject
    public var title: String
    public var evidence: [FindingEvidence]
    public var advice: String
    public var fact: String
    public var firstSeen: WallTime
    public var lastSeen: WallTime

    public init(event: Event, time: WallTime, finding f: Finding) {
        self.time = time
        self.event = event
        id = f.id
        kind = f.kind
        severity = f.severity
        subject = f.subject
        title = f.title
        evidence = f.evidence
        advice = f.advice
        fact = f.fact
        firstSeen = f.firstSeen
        lastSeen = f.lastSeen
    }

    public init() {
        self.init(
            event: .open, time: WallTime(nanoseconds: 0),
            finding: Finding(
                id: "", kind: .sysctl, severity: .info, subject: FindingSubject(), title: "", evidence: [], advice: "", fact: "",
                firstSeen: WallTime(nanoseconds: 0), lastSeen: WallTime(nanoseconds: 0)))
    }

    public var finding: Finding {
        Finding(
            id: id, kind: kind, severity: severity, subject: subject, title: title, evidence: evidence, advice: advice, fact: fact,
            firstSeen: firstSeen, lastSeen: lastSeen)
    }

    public static var type: StaticString { "finding" }
    public static var jsonPrefix: StaticString { "{\"type\":\"finding\",\"v\":" }
    public static var textTag: StaticString { "FINDING" }

    public static func fields<V: FieldVisitor>(_ r: inout FindingRecord, _ v: inout V) {
        v.field(
            "event", &r.event, Keyword<Event>.self, text: .plain,
            "opened / severity changed / ended / `diagnose` and the end of `report`: open when the run or log ended")
        v.field("id", &r.id, Text.self, text: .hidden, "stable while the problem lasts: kind and subject, e.g. `close_wait_leak/pid:612`")
        v.field("kind", &r.kind, Keyword<FindingKind>.self, text: .plain, "what the finding is about (see the kinds table)")
        v.field("severity", &r.severity, Keyword<FindingSeverity>.self, text: .plain, "`critical` and `warning` alarm; `info` never does")
        v.field("subject", &r.subject, Object<FindingSubject>.self, text: .plain, "who or what it is about")
        v.field("title", &r.title, Text.self, text: .labeled(": "), "one line: what is wrong")
        v.field("evidence", &r.evidence, List<Object<FindingEvidence>>.self, text: .plain, "the numbers behind it, each with its source")
        v.field("advice", &r.advice, Text.self, text: .labeled(" advice: "), "what to do")
        v.field("fact", &r.fact, Text.self, text: .hidden, "the kernel fact behind the advice, and where it is documented")
        v.field("first_seen", &r.firstSeen, Timestamp.self, text: .hidden, "when the evidence first showed it")
        v.field("last_seen", &r.lastSeen, Timestamp.self, text: .hidden, "when the evidence last showed it")
    }
}
