import Glibc
import TcptraceHost
import TcptraceCore

/// `diagnose`: traces quietly (no per-event record is written), evaluates findings every few
/// seconds, and at the end writes the findings open then, ranked. On a terminal, a progress
/// line on standard error says the time left and what has been seen.
final class DiagnoseSink: ViewSink {
    static var defaultCensusInterval: UInt64? { nil }
    static var saysLossAsItHappens: Bool { false }
    static var findingsInterval: UInt64? { 5_000_000_000 }
    static var saysStart: Bool { false }

    let json: Bool
    let text = TextLines(utcOffsetSeconds: 0)
    /// Standard error is a terminal: progress lines.
    let progressShown: Bool
    /// What the end found (read by the command for its exit status).
    var result: (findings: [Finding], status: PluginStatus)?
    var watchedSeconds = 0.0
    /// The page `--html` draws opens with these.
    var page: (writer: LineWriter, model: HTMLReportModel)?
    var summary: RunSummary?

    init(json: Bool, progress: Bool) {
        self.json = json
        self.progressShown = progress
    }

    func append(_ c: inout ConnectionRecord, to out: inout [UInt8], timeCache: inout RFC3339Cache) {
        page?.model.observe(.connection(c))
    }
    func append(_ l: LingererRecord, to out: inout [UInt8]) { page?.model.observe(.lingerer(l)) }
    func append(_ c: Census, to out: inout [UInt8]) {
        page?.model.observe(.census(CensusRecord(c)))
    }

    func appendEnd(_ s: RunSummary, findings: [Finding], to out: inout [UInt8]) {
        let status = PluginStatus(worst: Finding.worst(findings))
        result = (findings, status)
        summary = s
        watchedSeconds = Double(max(0, s.end.nanoseconds - s.start.nanoseconds)) / 1e9
        if json {
            JSONLines.appendDiagnosis(findings, status: status, at: s.end, watchedSeconds: watchedSeconds, to: &out)
        } else {
            text.appendDiagnosis(findings, status: status, watchedSeconds: watchedSeconds, to: &out)
        }
    }

    /// Writes the `--html` page; the error in one line, or nil.
    func writePage() -> String? {
        guard var p = page, let s = summary, let r = result else { return nil }
        p.model.close(at: s.end)
        var stats = Replay.InputStats()
        stats.first = s.start
        stats.last = s.end
        p.writer.buffer.append(contentsOf: p.model.html(summary: s, stats: stats, inputs: ["a live run of diagnose"], findings: r.findings).utf8)
        do {
            try p.writer.flush()
        } catch {
            return "writing the --html page failed: \(error)"
        }
        return nil
    }

    var progressInterval: UInt64? { progressShown ? 1_000_000_000 : nil }

    func sayProgress(left: UInt64?, summary: RunSummary, lingerers: Int, open: [Finding]) {
        guard progressShown else { return }
        let worst = open.filter { $0.severity > .info }
        var line = "\r\u{1B}[Kdiagnose: \(left.map { "\(($0 + 999_999_999) / 1_000_000_000) s left" } ?? "watching"); "
        line += "\(summary.events) transitions, \(summary.connections) connections closed, \(summary.timeWait.total) into TIME_WAIT, "
        line += "\(lingerers) CLOSE_WAIT lingerers; \(worst.count) findings above info"
        if let top = worst.first { line += " (worst: \(top.severity.rawValue) \(top.kind.rawValue))" }
        writeStandardError(Array(line.utf8))
    }

    func endProgress() {
        guard progressShown else { return }
        writeStandardError(Array("\r\u{1B}[K".utf8))
    }
}
