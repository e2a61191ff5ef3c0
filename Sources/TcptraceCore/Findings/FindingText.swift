/// `diagnose`'s report for people: a status line, then each finding ranked, with its evidence
/// and its fix.
extension TextLines {
    public func appendDiagnosis(_ findings: [Finding], status: PluginStatus, watchedSeconds: Double, to out: inout [UInt8]) {
        var text = ""
        defer { out.append(contentsOf: text.utf8) }
        let counts = FindingSeverity.allCases.reversed().map { s in "\(findings.filter { $0.severity == s }.count) \(s.rawValue)" }
        text += (
            "TCP \(status.label): \(findings.isEmpty ? "nothing found" : counts.joined(separator: ", ")) (watched \(Int(watchedSeconds.rounded())) s)\n")
        for (i, f) in findings.enumerated() {
            text += ("\n\(i + 1). [\(f.severity.rawValue.uppercased())] \(f.kind.rawValue): \(f.title)\n")
            text += ("   subject: \(f.subject.kind.rawValue) \(f.subject.name)")
            if let c = f.subject.container { text += (", container \(c)") }
            if let ns = f.subject.netns { text += (", netns \(ns)") }
            text += ("\n   evidence:\n")
            for e in f.evidence {
                text += ("     \(e.name) = \(Self.number(e.value)) \(e.unit)  [\(e.source)]\n")
            }
            text += ("   fix: \(f.advice)\n")
            text += ("   why: \(f.fact)\n")
            text += ("   seen: \(f.firstSeen.rfc3339) .. \(f.lastSeen.rfc3339)\n")
        }
    }

    static func number(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return String((v * 1000).rounded() / 1000)
    }
}

extension JSONLines {
    /// `diagnose --format json`: one `finding` line per open finding, ranked, then a `diagnosis` line.
    public static func appendDiagnosis(_ findings: [Finding], status: PluginStatus, at time: WallTime, watchedSeconds: Double, to out: inout [UInt8]) {
        for f in findings { append(FindingRecord(event: .present, time: time, finding: f), to: &out) }
        append(DiagnosisRecord(time: time, status: status, findings: findings, watchedSeconds: watchedSeconds), to: &out)
    }
}

/// The last line of `diagnose --format json`: the verdict.
public struct DiagnosisRecord: Hashable, Sendable, Record {
    public enum Status: String, Sendable, CaseIterable { case OK, WARNING, CRITICAL, UNKNOWN }
    public var time: WallTime
    public var status: Status
    public var exitStatus: UInt32
    public var critical: UInt64
    public var warning: UInt64
    public var info: UInt64
    public var watchedNanoseconds: UInt64

    public init(time: WallTime, status: PluginStatus, findings: [Finding], watchedSeconds: Double) {
        self.time = time
        self.status = Status(rawValue: status.label)!
        exitStatus = UInt32(status.rawValue)
        critical = UInt64(findings.filter { $0.severity == .critical }.count)
        warning = UInt64(findings.filter { $0.severity == .warning }.count)
        info = UInt64(findings.filter { $0.severity == .info }.count)
        watchedNanoseconds = UInt64(max(0, watchedSeconds) * 1e9)
    }
    public init() { self.init(time: WallTime(nanoseconds: 0), status: .ok, findings: [], watchedSeconds: 0) }

    public static var type: StaticString { "diagnosis" }
    public static var jsonPrefix: StaticString { "{\"type\":\"diagnosis\",\"v\":" }
    public static var textTag: StaticString { "DIAGNOSIS" }

    public static func fields<V: FieldVisitor>(_ r: inout DiagnosisRecord, _ v: inout V) {
        v.field("status", &r.status, Keyword<Status>.self, text: .plain, "the worst severity found, as a monitoring plugin says it")
        v.field("exit_status", &r.exitStatus, Integer<UInt32>.self, text: .hidden, "0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN")
        v.field("critical", &r.critical, Integer<UInt64>.self, text: .labeled(" critical "), "critical findings")
        v.field("warning", &r.warning, Integer<UInt64>.self, text: .labeled(" warning "), "warning findings")
        v.field("info", &r.info, Integer<UInt64>.self, text: .labeled(" info "), "info findings")
        v.field("watched_s", &r.watchedNanoseconds, Seconds.self, text: .hidden, "how long it traced")
    }
}
