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

    init(options: ReportCommand) {
        self.options = options
        json = options.format == .json
        replay = Replay(
            table: ConnectionTable(capacity: options.maxConnections, lingerThresholdNanoseconds: options.closeWaitThreshold),
            since: options.since, until: options.until, reorderWindowNanoseconds: Int64(options.reorderWindow),
            churnTop: options.churnTop)
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
        case .portPressure(var w):
            if json { JSONLines.append(w, to: &writer.buffer) } else { text.appendRecord(&w, to: &writer.buffer) }
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
        model.leaks = replay.leaks
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
        case .failed, .stalled:
            printError("writing output failed: \(outputError!)")
            return .ioError
        }
    }
}
