import ArgumentParser
import TcptraceHost
import TcptraceCore

/// `tcptrace-bpf report`: the analysis of a live run, over JSON lines recorded earlier.
/// No BPF, no root, no kernel: the transitions go through the same connection table.
public struct ReportCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Replay recorded JSON lines: connection timelines, CLOSE_WAIT lingerers and a summary.",
        discussion: """
            Reads the `transition` records of logs written with --format json (standard input when \
            no file is given, or '-'; gzip files are read transparently) and feeds them, in time \
            order, through the same connection table as live tracing, with the records' own times \
            as the clock. Prints the connection records, the lingerers, the sockets still in \
            CLOSE_WAIT when the log ends (with their age then), what was read, and a summary. \
            Malformed lines are counted and the first few named on standard error; a log of \
            another schema version stops with exit status 65. With --html, the analysis is drawn \
            as one self-contained HTML page and standard output gets only the summary.
            """
    )

    @Option(help: "Output format: text for people, json for one JSON object per line.")
    var format: OutputFormat = .text

    @Option(help: TableOptions.closeWaitThresholdHelp, transform: TableOptions.duration)
    var closeWaitThreshold: UInt64 = TableOptions.closeWaitThreshold

    @Option(
        help: ArgumentHelp("Only transitions at or after this time (RFC 3339, e.g. 2026-11-25T13:00:00Z).", valueName: "time"),
        transform: ReportCommand.time)
    var since: WallTime?

    @Option(help: ArgumentHelp("Only transitions at or before this time (RFC 3339).", valueName: "time"), transform: ReportCommand.time)
    var until: WallTime?

    @Option(
        help: ArgumentHelp("How far out of time order a record may come and still be put in place.", valueName: "duration"),
        transform: { s in try parsed { () throws(ValueParseError) in try OptionValues.duration(s) } })
    var reorderWindow: UInt64 = 1_000_000_000

    @Option(help: TableOptions.maxConnectionsHelp)
    var maxConnections: Int = TableOptions.maxConnections

    @Option(
        help: ArgumentHelp(
            "TIME_WAIT makers and port-pressure destinations kept (as trace's --churn-top).", valueName: "n"))
    var churnTop: Int = TimeWaitMakers.defaultCapacity

    @Option(help: ArgumentHelp("Also write the report as one self-contained HTML page (timeline, lingerers, durations) to this file.", valueName: "path"))
    var html: String?

    @Option(
        name: .customLong("threshold"),
        help: ArgumentHelp("Set a finding threshold, NAME=VALUE (repeatable; see the README's thresholds table).", valueName: "name=value"))
    var thresholdAssignments: [String] = []

    /// The findings' thresholds with `--threshold` applied (checked in `validate`).
    var thresholds: FindingThresholds {
        var t = FindingThresholds()
        for a in thresholdAssignments { try? t.set(a) }
        return t
    }

    @Argument(help: ArgumentHelp("Recorded JSON-lines files, plain or gzip; '-' or none for standard input.", valueName: "file"))
    var files: [String] = []

    public init() {}

    static func time(_ text: String) throws -> WallTime {
        guard let t = WallTime(rfc3339: text) else {
            throw ValidationError("invalid time '\(text)': expected RFC 3339, e.g. 2026-11-25T13:00:00Z")
        }
        return t
    }

    public mutating func validate() throws {
        if let since, let until, until < since { throw ValidationError("--until is before --since") }
        try TableOptions.validate(maxConnections: maxConnections, churnTop: churnTop)
        if reorderWindow > 3_600_000_000_000 { throw ValidationError("--reorder-window must be at most 1h") }
        if files.contains("") { throw ValidationError("an input file name is empty") }
        if let html, html.isEmpty { throw ValidationError("--html needs a file path") }
        var t = FindingThresholds()
        for a in thresholdAssignments { try parsed { () throws(ValueParseError) in try t.set(a) } }
    }

    public func run() throws {
        let status = ReportRun(options: self).run()
        if status != .success { throw ExitCode(status.rawValue) }
    }
}
