import ArgumentParser
import TcptraceKernel
import TcptraceHost
import TcptraceCore

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
    /// Findings derived from the log as a live run derives them: evaluated every
    /// `findingsInterval` of log time, and at the end.
    var evidence = DiagnosisEvidence()
    var tracker = FindingTracker()
    let thresholds: FindingThresholds
    var nextEvaluation: WallTime?
    /// An evaluation that came due during a line's replay: run once `Replay.feed` has returned
    /// (evaluating reads the replay's counters, which must not happen inside its own mutation).
    var dueEvaluation: WallTime?
    static let findingsInterval: Int64 = 10_000_000_000
    var progress: ReportProgress?

    init(options: ReportCommand) {
        self.options = options
        json = options.format == .json
        thresholds = options.thresholds
        replay = Replay(
            table: ConnectionTable(capacity: options.maxConnections, lingerThresholdNanoseconds: options.closeWaitThreshold),
            since: options.since, until: options.until, reorderWindowNanoseconds: Int64(options.reorderWindow),
            churnTop: options.churnTop)
        // Census and summary records, and the log's own findings, are evidence.
        replay.emitsStateChanges = true
    }

    func run() -> ExitStatus {
        // The page's file first: an unwritable path is the user's to fix before any reading.
        if let path = options.html {
            do {
                page = (try LineWriter.open(path: path), HTMLReportModel(closeWaitThresholdNanoseconds: options.closeWaitThreshold))
                replay.emitsStateChanges = true
            } catch {
                printError("cannot write output file \(error)")
                return .cannotCreate
            }
        }
        let inputs = options.files.isEmpty ? ["-"] : options.files
        progress = ReportProgress(paths: inputs)
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
                    if number & 4095 == 0 { progress?.tick(reading: log) }
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
                        if let due = dueEvaluation {
                            dueEvaluation = nil
                            evaluateFindings(at: due, final: false)
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
            progress?.finished(log)
            if let status = flushOrStop() { return status }
        }
        progress?.end()

        let atEnd = replay.finish(emit)
        for var l in atEnd {
            l.event = .openAtEnd
            emit(.lingerer(l))
        }
        let open = evaluateFindings(at: replay.summary.end, final: true)
        let stats = replay.stats
        if examples < stats.malformed && stats.malformed > 0 {
            printError("\(stats.malformed) malformed lines in all (the first \(examples) named above)")
        }
        if json {
            // The findings open at the end, before the report and summary lines (the last two).
            for f in open where page == nil { JSONLines.append(FindingRecord(event: .present, time: replay.summary.end, finding: f), to: &writer.buffer) }
            JSONLines.append(
                stats, end: replay.summary.end, inputs: inputs, closeWaitThresholdNanoseconds: options.closeWaitThreshold,
                to: &writer.buffer)
            // The groups the log ends with, each stack they name first (once).
            let groups = replay.leaks.groups
            for id in Set(groups.compactMap(\.stack)).sorted() {
                if let s = replay.leaks.stacks[id] { JSONLines.append(s, to: &writer.buffer) }
            }
            for r in groups { JSONLines.append(r, to: &writer.buffer) }
            JSONLines.append(replay.summary, to: &writer.buffer)
        } else {
            text.appendSummary(replay.summary, to: &writer.buffer)
            text.appendLeakSection(replay.leaks.groups, stacks: replay.leaks.stacks, to: &writer.buffer)
            text.appendInputStats(stats, to: &writer.buffer)
            if page == nil {
                writer.buffer.append(contentsOf: "\nfindings at the end of the log:\n".utf8)
                if open.isEmpty { writer.buffer.append(contentsOf: "  none\n".utf8) }
                for f in open { writer.buffer.append(contentsOf: "  [\(f.severity.rawValue.uppercased())] \(f.kind.rawValue): \(f.title)\n    fix: \(f.advice)\n".utf8) }
            }
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
        observe(o)
        if page != nil {
            page!.model.observe(o)
            return
        }
        switch o {
        case .connection(let c):
            if json { JSONLines.append(c, to: &writer.buffer) } else { text.append(c, to: &writer.buffer) }
        case .lingerer(let l):
            if json { JSONLines.append(l, to: &writer.buffer) } else { text.append(l, color: false, to: &writer.buffer) }
        case .portPressure(var w):
            if json { JSONLines.append(w, to: &writer.buffer) } else { text.appendRecord(&w, to: &writer.buffer) }
        case .transition, .census, .recordedSummary, .finding: return
        }
        if outputError == nil {
            do { try writer.flushIfFull() } catch { outputError = error }
        }
    }

    /// Writes the HTML page (with --html); nil to go on, else the status to end with.
    func writePage(stats: Replay.InputStats, inputs: [String]) -> ExitStatus? {
        guard let pageWriter = page?.writer, var model = page?.model else { return nil }
        model.close(at: replay.summary.end)
        model.leaks = replay.leaks
        pageWriter.buffer.append(contentsOf: model.html(summary: replay.summary, stats: stats, inputs: inputs, findings: tracker.ranked).utf8)
        do {
            try pageWriter.flush()
        } catch {
            printError("writing \(options.html ?? "") failed: \(error)")
            return .ioError
        }
        return nil
    }

    /// The evidence in each output, and an evaluation each `findingsInterval` of log time.
    func observe(_ o: Replay.Output) {
        let time: WallTime
        switch o {
        case .connection(let c):
            evidence.observe(connection: c, failedConnect: c.connectError?.rawValue)
            time = c.time
        case .lingerer(let l):
            evidence.observe(lingerer: l, container: l.identity.container.flatMap { ContainerRegistry.shared.info($0)?.shortName })
            time = l.time
        case .census(let c):
            evidence.observe(censusCounts: c)
            time = c.time
        case .recordedSummary(let lost):
            evidence.lost.ringBufferFull += lost.ringBufferFull
            evidence.lost.recursionMisses += lost.recursionMisses
            evidence.lost.undecodable += lost.undecodable
            return
        case .finding(let f):
            evidence.observe(recorded: f)
            return
        case .portPressure:
            return
        case .transition(let t):
            time = t.time
        }
        guard let next = nextEvaluation else {
            nextEvaluation = WallTime(nanoseconds: time.nanoseconds + Self.findingsInterval)
            return
        }
        if time >= next {
            dueEvaluation = time
            nextEvaluation = WallTime(nanoseconds: time.nanoseconds + Self.findingsInterval)
        }
    }

    /// The analyzers now (log time); the changes are written as `finding` records (not with
    /// --html, whose page has them). Returns the open findings, ranked.
    @discardableResult
    func evaluateFindings(at time: WallTime, final: Bool) -> [Finding] {
        evidence.now = max(evidence.now, time)
        evidence.events = replay.stats.transitions
        evidence.observe(churn: replay.summary.churn, now: time)
        let changed = tracker.update(Diagnosis.findings(evidence, thresholds: thresholds), at: time)
        if page == nil && !final {
            for var r in changed {
                if json { JSONLines.append(r, to: &writer.buffer) } else { text.appendRecord(&r, to: &writer.buffer) }
            }
        }
        return tracker.ranked
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
        case .failed, .stalled:
            printError("writing output failed: \(outputError!)")
            return .ioError
        }
    }
}
