/// `doctor --format json`: one line. Declared once (JSON line, README table); the text for
/// people is `TextLines.appendDoctor`.
public struct DoctorRecord: Sendable, Record {
    public struct Totals: Hashable, Sendable, FieldGroup {
        public var total: UInt64 = 0
        public var states: [Keyed<TCPState, UInt64>] = []
        public init() {}
        public static func fields<V: FieldVisitor>(_ r: inout Totals, _ v: inout V) {
            v.field("total", &r.total, Integer<UInt64>.self, text: .plain, "sockets counted")
            v.field("states", &r.states, KeyedObject<StateKey, Integer<UInt64>>.self, text: .plain, "count per state")
        }
    }

    public var time = WallTime(nanoseconds: 0)
    public var runnable = false
    public var checks: [DoctorReport.Check] = []
    public var sysctls: [Keyed<String, String?>] = []
    public var counters = TCPExtCounters()
    public var census: Totals?
    public var audit: [SysctlFact] = []
    public var advice: [SysctlAdvice] = []

    public init() {}
    public init(_ r: DoctorReport) {
        time = r.time
        runnable = r.runnable
        checks = r.checks
        sysctls = TCPSysctls.names.map { name in Keyed(name, (r.sysctlText[name] ?? nil).map { String($0.trimmingWhitespace) }) }
        counters = r.counters
        census = r.census.map { c in
            let whole = CensusRecord(c)
            var t = Totals()
            (t.total, t.states) = (whole.total, whole.states)
            return t
        }
        audit = r.facts
        advice = r.advice
    }

    public static var type: StaticString { "doctor" }
    public static var jsonPrefix: StaticString { "{\"type\":\"doctor\",\"v\":" }
    public static var textTag: StaticString { "DOCTOR" }

    public static func fields<V: FieldVisitor>(_ r: inout DoctorRecord, _ v: inout V) {
        v.field("runnable", &r.runnable, Boolean.self, text: .hidden, "the tracer can run here in every mode")
        v.field("checks", &r.checks, List<Object<DoctorReport.Check>>.self, text: .hidden, "what was checked, in order")
        v.field("sysctls", &r.sysctls, KeyedObject<NameKey, Nullable<Text>>.self, text: .hidden, "the TCP sysctls' text, null when absent")
        v.field("counters", &r.counters, Object<TCPExtCounters>.self, text: .hidden, "from `/proc/net/netstat`, null when unreadable")
        v.field("census", &r.census, Nullable<Object<Totals>>.self, text: .hidden, "the census now, null when it could not be taken")
        v.field("audit", &r.audit, List<Object<SysctlFact>>.self, text: .hidden, "what each sysctl does")
        v.field("advice", &r.advice, List<Object<SysctlAdvice>>.self, text: .hidden, "given only where the census or the counters show the problem")
    }
}

/// A name (a sysctl's) as a member name.
public enum NameKey: KeyFormat {
    public static var keyName: String { "name" }
    public static var maxBytes: Int { 64 }
    public static func write(_ s: String, _ c: inout ByteCursor) { c.text(s) }
    public static func read(_ text: String) -> String? { text }
}

extension DoctorReport.Check: FieldGroup {
    public init() { self.init(name: "", status: .info, detail: "") }
    public static func fields<V: FieldVisitor>(_ r: inout DoctorReport.Check, _ v: inout V) {
        v.field("name", &r.name, Text.self, text: .plain, "what was checked")
        v.field("status", &r.status, Keyword<Status>.self, text: .plain, "present and working / missing: the tracer cannot run / worth knowing")
        v.field("detail", &r.detail, Text.self, text: .plain, "what was found")
    }
}

extension TCPExtCounters: FieldGroup {
    public init() { self.init(timeWaitOverflow: nil, listenOverflows: nil, reqQueueFullDrop: nil) }
    public static func fields<V: FieldVisitor>(_ r: inout TCPExtCounters, _ v: inout V) {
        v.field("TcpExtTCPTimeWaitOverflow", &r.timeWaitOverflow, Nullable<Integer<UInt64>>.self, text: .plain, "TIME_WAIT sockets not created (`tcp_max_tw_buckets`)")
        v.field("TcpExtListenOverflows", &r.listenOverflows, Nullable<Integer<UInt64>>.self, text: .plain, "accept queue overflows")
        v.field("TcpExtTCPReqQFullDrop", &r.reqQueueFullDrop, Nullable<Integer<UInt64>>.self, text: .plain, "SYNs dropped, request queue full")
    }
}

extension SysctlFact: FieldGroup {
    public init() { self.init(sysctl: "", value: nil, fact: "", doc: "") }
    public static func fields<V: FieldVisitor>(_ r: inout SysctlFact, _ v: inout V) {
        v.field("sysctl", &r.sysctl, Text.self, text: .plain, "the sysctl")
        v.field("value", &r.value, Nullable<Text>.self, text: .plain, "its value here, null when absent")
        v.field("fact", &r.fact, Text.self, text: .plain, "what it does")
        v.field("doc", &r.doc, Text.self, text: .plain, "the kernel documentation that says so")
    }
}

extension SysctlAdvice: FieldGroup {
    public init() { self.init(rule: .twRecyclePresent, sysctl: nil, message: "", doc: "") }
    public static func fields<V: FieldVisitor>(_ r: inout SysctlAdvice, _ v: inout V) {
        v.field("rule", &r.rule, Keyword<Rule>.self, text: .plain, "which rule gave it")
        v.field("sysctl", &r.sysctl, Nullable<Text>.self, text: .plain, "the sysctl concerned, null when none can help")
        v.field("message", &r.message, Text.self, text: .plain, "the advice")
        v.field("doc", &r.doc, Text.self, text: .plain, "the kernel documentation")
    }
}
