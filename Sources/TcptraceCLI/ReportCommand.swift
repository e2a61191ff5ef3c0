import ArgumentParser
import TcptraceKernel
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

    @Option(
        help: ArgumentHelp("Report a socket once it has been in CLOSE_WAIT this long.", valueName: "duration"),
        transform: { s in try parsed { () throws(ValueParseError) in try OptionValues.duration(s) } })
    var closeWaitThreshold: UInt64 = 30_000_000_000

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

    @Option(help: ArgumentHelp("Most connections tracked at once; the least recently active are evicted past it.", valueName: "n"))
    var maxConnections: Int = 100_000

    @Option(help: ArgumentHelp("Also write the report as one self-contained HTML page (timeline, lingerers, durations) to this file.", valueName: "path"))
    var html: String?

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
        if maxConnections < 100 || maxConnections > 100_000_000 {
            throw ValidationError("--max-connections must be between 100 and 100000000")
        }
        if reorderWindow > 3_600_000_000_000 { throw ValidationError("--reorder-window must be at most 1h") }
        if files.contains("") { throw ValidationError("an input file name is empty") }
        if let html, html.isEmpty { throw ValidationError("--html needs a file path") }
    }

    public func run() throws {
        let status = ReportRun(options: self).run()
        if status != .success { throw ExitCode(status.rawValue) }
    }
}

/// One replay: read every input in order, emit records as they arise, then the end of log.
final class ReportRun {
    let options: ReportCommand
    let json: Bool
    let writer = LineWriter()
    let text = TextLines(utcOffsetSeconds: 0)
    var replay: Replay
    /// With --html: the page's file, and what it draws.
    var page: (writer: LineWriter, model: HTMLReportModel)?
    var outputError: OutputError?
    /// Malformed lines named on stderr; the rest are only counted.
    static let maxExamples = 10
    var examples = 0

    init(options: ReportCommand) {
        self.options = options
        json = options.format == .json
        replay = Replay(
            table: ConnectionTable(capacity: options.maxConnections, lingerThresholdNanoseconds: options.closeWaitThreshold),
            since: options.since, until: options.until, reorderWindowNanoseconds: Int64(options.reorderWindow))
    }

    func run() -> ExitStatus {
        // The page's file first: an unwritable path is the user's to fix before any reading.
        if let path = options.html {
            do {
                page = (try LineWriter.open(path: path), HTMLReportModel(closeWaitThresholdNanoseconds: options.closeWaitThreshold))
                replay.emitsStateChanges = true
            } catch {
                printError("cannot write output file \(path): \(error)")
                return .cannotCreate
            }
        }
        let inputs = options.files.isEmpty ? ["-"] : options.files
        for path in inputs {
            let log: RecordedLog
            do {
                log = try RecordedLog(path: path)
            } catch {
                printError(error.description)
                return .noInput
            }
            let name = path == "-" ? "<stdin>" : path
            var versionError: String?
            do {
                try log.forEachLine { line, number, cut in
                    if cut {
                        replay.countMalformedLine()
                        malformed(name, number, "line longer than \(RecordedLog.maxLineBytes) bytes")
                    } else {
                        switch replay.feed(line: line, emit) {
                        case .unsupportedVersion(let v):
                            versionError = "\(name):\(number): \(RecordLineError.unsupportedVersion(v).description)"
                            return false
                        case .some(let error): malformed(name, number, error.description)
                        case nil: break
                        }
                    }
                    return outputError == nil
                }
            } catch .compressed(_, let message) {
                replay.countMalformedLine()
                malformed(name, nil, "gzip data: \(message); the rest of this file is unreadable")
            } catch {
                printError(error.description)
                return .ioError
            }
            if let versionError {
                printError(versionError)
                return .dataError
            }
            if let status = flushOrStop() { return status }
        }

        let atEnd = replay.finish(emit)
        for var l in atEnd {
            l.event = .openAtEnd
            emit(.lingerer(l))
        }
        let stats = replay.stats
        if examples < stats.malformed && stats.malformed > 0 {
            printError("\(stats.malformed) malformed lines in all (the first \(examples) named above)")
        }
        if json {
            JSONLines.append(
                stats, end: replay.summary.end, inputs: inputs, closeWaitThresholdNanoseconds: options.closeWaitThreshold,
                to: &writer.buffer)
            JSONLines.append(replay.summary, to: &writer.buffer)
        } else {
            text.appendSummary(replay.summary, to: &writer.buffer)
            text.appendInputStats(stats, to: &writer.buffer)
        }
        if let status = flushOrStop() { return status }
        if let status = writePage(stats: stats, inputs: inputs) { return status }
        if stats.malformed > 0 && stats.transitions == 0 && stats.otherRecords == 0 {
            printError("no tcptrace-bpf records in the input")
            return .dataError
        }
        return .success
    }

    func emit(_ o: Replay.Output) {
        if page != nil {
            page!.model.observe(o)
            return
        }
        switch o {
        case .connection(let c):
            if json { JSONLines.append(c, to: &writer.buffer) } else { text.append(c, to: &writer.buffer) }
        case .lingerer(let l):
            if json { JSONLines.append(l, to: &writer.buffer) } else { text.append(l, color: false, to: &writer.buffer) }
        case .transition, .census, .recordedSummary: return
        }
        if outputError == nil {
            do { try writer.flushIfFull() } catch { outputError = error }
        }
    }

    /// Writes the HTML page (with --html); nil to go on, else the status to end with.
    func writePage(stats: Replay.InputStats, inputs: [String]) -> ExitStatus? {
        guard let pageWriter = page?.writer, var model = page?.model else { return nil }
        model.close(at: replay.summary.end)
        pageWriter.buffer.append(contentsOf: model.html(summary: replay.summary, stats: stats, inputs: inputs).utf8)
        do {
            try pageWriter.flush()
        } catch {
            printError("writing \(options.html ?? "") failed: \(error)")
            return .ioError
        }
        return nil
    }

    func malformed(_ name: String, _ number: UInt64?, _ why: String) {
        guard examples < Self.maxExamples else { return }
        examples += 1
        printError("\(name)\(number.map { ":\($0)" } ?? ""): malformed line skipped: \(why)")
    }

    /// Writes what is buffered; nil to go on, else the status to end with.
    func flushOrStop() -> ExitStatus? {
        if outputError == nil {
            do { try writer.flush() } catch { outputError = error }
        }
        switch outputError {
        case nil: return nil
        case .closed: return .success
        case .failed(let e):
            printError("writing output failed: \(Errno(e).description)")
            return .ioError
        }
    }
}
