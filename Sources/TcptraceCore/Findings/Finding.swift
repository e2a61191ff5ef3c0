/// How bad a finding is, in the monitoring-plugin sense: `info` is worth knowing and never
/// alarms; `warning` and `critical` make `diagnose` exit 1 and 2.
public enum FindingSeverity: String, Sendable, CaseIterable, Comparable, Hashable {
    case info, warning, critical

    var rank: Int {
        switch self {
        case .info: return 0
        case .warning: return 1
        case .critical: return 2
        }
    }
    public static func < (a: FindingSeverity, b: FindingSeverity) -> Bool { a.rank < b.rank }
}

/// What a finding is about. Each kind has one analyzer (`Diagnosis`) and one line of advice.
public enum FindingKind: String, Sendable, CaseIterable, Hashable {
    /// Sockets left in CLOSE_WAIT by one process: a leak (lingerers, leak groups).
    case closeWaitLeak = "close_wait_leak"
    /// CLOSE_WAIT sockets a census counted in a namespace, holder not (yet) known.
    case closeWaitSockets = "close_wait_sockets"
    /// Connections to one destination closing into TIME_WAIT, the local ports they hold, the
    /// connects that failed for want of a port.
    case timeWaitPressure = "time_wait_pressure"
    /// connect() failing for another reason (refused, timed out, unreachable) to one destination.
    case failedConnects = "failed_connects"
    /// TIME_WAIT sockets the kernel did not create (tcp_max_tw_buckets reached).
    case timeWaitOverflow = "time_wait_overflow"
    /// Accept queues overflowing: TcpExtListenOverflows / TcpExtListenDrops grew.
    case listenOverflow = "listen_overflow"
    /// Retransmissions towards one peer.
    case retransmissions = "retransmissions"
    /// High smoothed RTT towards one peer.
    case highRTT = "high_rtt"
    /// Slow connect() (SYN_SENT -> ESTABLISHED) towards one destination.
    case slowConnects = "slow_connects"
    /// Events the tracer lost: every other finding may be short of evidence.
    case lostEvents = "lost_events"
    /// A TCP sysctl that works against the host (the audit `doctor` does).
    case sysctl = "sysctl"
    /// Evidence that could not be gathered (an unreadable /proc file, a vanished namespace).
    case evidenceMissing = "evidence_missing"
}

/// Who or what a finding is about.
public struct FindingSubject: Hashable, Sendable, FieldGroup {
    public enum Kind: String, Sendable, CaseIterable, Hashable {
        case process, container, destination, namespace, host
    }
    public var kind: Kind
    /// For people: `python3 (pid 612)`, `127.0.0.1:5432`, `host`.
    public var name: String
    public var pid: UInt32?
    public var netns: UInt32?
    /// The container's short name, when the subject lives in one.
    public var container: String?

    public init(kind: Kind, name: String, pid: UInt32? = nil, netns: UInt32? = nil, container: String? = nil) {
        self.kind = kind
        self.name = name
        self.pid = pid
        self.netns = netns
        self.container = container
    }
    public init() { self.init(kind: .host, name: "host") }
    public static var host: FindingSubject { FindingSubject() }

    public static func fields<V: FieldVisitor>(_ r: inout FindingSubject, _ v: inout V) {
        v.field("kind", &r.kind, Keyword<Kind>.self, text: .hidden, "what the subject is")
        v.field("name", &r.name, Text.self, text: .plain, "the subject for people: `python3 (pid 612)`, `127.0.0.1:5432`, `host`")
        v.field("pid", &r.pid, Nullable<Integer<UInt32>>.self, text: .hidden, "the process, when the subject is one")
        v.field("netns", &r.netns, Nullable<Integer<UInt32>>.self, text: .hidden, "its network namespace inode, when known")
        v.field("container", &r.container, Nullable<Text>.self, text: .labeled(" container "), "its container's short name, when in one")
    }
}

/// One number behind a finding, and where it was read.
public struct FindingEvidence: Hashable, Sendable, FieldGroup {
    public var name: String
    /// The value in millionths (written with 3 decimals).
    public var micros: UInt64
    public var unit: String
    /// Where the number comes from: `lingerer records`, `sock_diag census`, `/proc/net/netstat`...
    public var source: String

    public init(_ name: String, _ value: Double, _ unit: String, source: String) {
        self.name = name
        self.micros = value.isFinite && value > 0 ? UInt64(min(value, 1e12) * 1_000_000) : 0
        self.unit = unit
        self.source = source
    }
    public init() { self.init("", 0, "", source: "") }

    public var value: Double { Double(micros) / 1_000_000 }

    public static func fields<V: FieldVisitor>(_ r: inout FindingEvidence, _ v: inout V) {
        v.field("name", &r.name, Text.self, text: .plain, "what is counted")
        v.field("value", &r.micros, Quantity.self, text: .labeled("="), "the number (3 decimals)")
        v.field("unit", &r.unit, Text.self, text: .plain, "its unit: `sockets`, `s`, `%`, `per_s`, `ms`, `count`")
        v.field("source", &r.source, Text.self, text: .hidden, "where it was read")
    }
}

/// A number written with 3 decimals, held in millionths (non-negative).
public enum Quantity: FieldFormat {
    public typealias Value = UInt64
    public static var jsonType: String { "number" }
    @inlinable public static var maxBytes: Int { 21 }
    @inlinable
    public static func json(_ v: UInt64, _ c: inout ByteCursor) { Milliseconds.json(v, &c) }
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> UInt64? { p.decimalAsNanoseconds(scaleDigits: 6) }
}

/// What an analyzer found: a verdict with its evidence and the fix.
public struct Finding: Hashable, Sendable {
    /// Stable while the problem lasts: kind plus subject (`close_wait_leak/pid:612`).
    public var id: String
    public var kind: FindingKind
    public var severity: FindingSeverity
    public var subject: FindingSubject
    /// One line: what is wrong.
    public var title: String
    public var evidence: [FindingEvidence]
    /// What to do.
    public var advice: String
    /// The kernel fact the advice rests on, and where it is documented.
    public var fact: String
    public var firstSeen: WallTime
    public var lastSeen: WallTime

    public init(
        id: String, kind: FindingKind, severity: FindingSeverity, subject: FindingSubject, title: String,
        evidence: [FindingEvidence], advice: String, fact: String, firstSeen: WallTime, lastSeen: WallTime
    ) {
        self.id = id
        self.kind = kind
        self.severity = severity
        self.subject = subject
        self.title = title
        self.evidence = evidence
        self.advice = advice
        self.fact = fact
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
    }

    /// Most severe first, then the larger first evidence value, then by id (stable).
    public static func ranked(_ findings: [Finding]) -> [Finding] {
        findings.sorted { a, b in
            if a.severity != b.severity { return a.severity > b.severity }
            if a.kind.priority != b.kind.priority { return a.kind.priority < b.kind.priority }
            let av = a.evidence.first?.micros ?? 0, bv = b.evidence.first?.micros ?? 0
            if av != bv { return av > bv }
            return a.id < b.id
        }
    }

    /// The worst severity among `findings`; nil when there are none.
    public static func worst(_ findings: [Finding]) -> FindingSeverity? { findings.map(\.severity).max() }
}

extension FindingKind {
    /// Among findings of equal severity, the ones whose harm spreads first come first.
    var priority: Int {
        switch self {
        case .closeWaitLeak: return 0
        case .timeWaitPressure: return 1
        case .listenOverflow: return 2
        case .failedConnects: return 3
        case .lostEvents: return 4
        case .timeWaitOverflow: return 5
        case .closeWaitSockets: return 6
        case .retransmissions: return 7
        case .slowConnects: return 8
        case .highRTT: return 9
        case .sysctl: return 10
        case .evidenceMissing: return 11
        }
    }
}

/// Monitoring-plugin exit status (Nagios, Icinga, Sensu, cron): 0 OK, 1 WARNING, 2 CRITICAL,
/// 3 UNKNOWN.
public enum PluginStatus: Int32, Sendable, CaseIterable {
    case ok = 0, warning = 1, critical = 2, unknown = 3

    public init(worst: FindingSeverity?) {
        switch worst {
        case .critical: self = .critical
        case .warning: self = .warning
        default: self = .ok
        }
    }
    public var label: String {
        switch self {
        case .ok: return "OK"
        case .warning: return "WARNING"
        case .critical: return "CRITICAL"
        case .unknown: return "UNKNOWN"
        }
    }
}
