import CTcptrace
import Glibc
import TcptraceBPF
import TcptraceCore

/// One run of the tracer: open output, check the host, load, poll until told to stop, drain,
/// summarize. Printing lives in `handle`; this type owns the order of things.
final class TraceRun {
    let options: TraceCommand
    var writer: LineWriter!
    var summary = RunSummary(start: WallTime(nanoseconds: 0))
    let text: TextLines
    let json: Bool
    /// The first output error; it stops the run.
    var outputError: OutputError?

    static let pollMilliseconds: Int32 = 100

    init(options: TraceCommand) {
        self.options = options
        self.json = options.format == .json
        self.text = TextLines(utcOffsetSeconds: SystemClock.utcOffsetSeconds())
    }

    func run() -> ExitStatus {
        // Output first: an unwritable path is the user's to fix before anything is loaded.
        if let path = options.output {
            do {
                writer = try LineWriter.open(path: path)
            } catch {
                printError("cannot write output file \(path): \(error)")
                return .cannotCreate
            }
        } else {
            writer = LineWriter(fd: 1, ownsDescriptor: false)
        }

        let tracer: Tracer
        do {
            try Preflight.checkPrivileges()
            try Preflight.checkKernel()
            tcptrace_install_signal_handlers()
            tracer = try Tracer(
                configuration: options.tracerConfiguration, clock: SystemClock.monotonicToWall(),
                handler: { [unowned self] t in self.handle(t) })
        } catch {
            printError(error.description)
            return error.exitStatus
        }
        summary = RunSummary(start: SystemClock.wallNow())
        let deadline = options.duration.map { SystemClock.monotonicNanoseconds() + $0 }
        printError(
            "tracing TCP state transitions\(options.duration == nil ? "" : " for \(options.duration! / 1_000_000) ms"); Ctrl-C to end")

        if !json {
            writer.buffer.append(TextLines.header)
        }
        var reportedLoss = LostEvents()
        var nextLossCheck = SystemClock.monotonicNanoseconds()
        do {
            while tcptrace_stop_signal() == 0 && outputError == nil {
                let now = SystemClock.monotonicNanoseconds()
                if let deadline, now >= deadline { break }
                let timeout = deadline.map { Int32(min(UInt64(Self.pollMilliseconds), ($0 - now) / 1_000_000 + 1)) }
                try tracer.poll(timeoutMilliseconds: timeout ?? Self.pollMilliseconds)
                if outputError == nil { try flush() }
                if !json && now >= nextLossCheck {
                    reportedLoss = reportNewLoss(tracer, since: reportedLoss)
                    nextLossCheck = now + 1_000_000_000
                }
            }
            // Stop new events, then deliver everything already queued.
            tracer.detach()
            if outputError == nil { try tracer.drain() }
        } catch {
            printError(error.description)
            return error.exitStatus
        }

        if case .closed = outputError { return .success }
        summary.end = SystemClock.wallNow()
        summary.kernel = tracer.kernelCounters()
        summary.lost.ringBufferFull = summary.kernel.ringBufferFull
        summary.lost.recursionMisses = tracer.recursionMisses()
        summary.lost.undecodable = tracer.undecodable
        if !json { _ = reportNewLoss(tracer, since: reportedLoss) }
        if json {
            JSONLines.append(summary, to: &writer.buffer)
        } else {
            text.appendSummary(summary, to: &writer.buffer)
        }
        try? flush()
        switch outputError {
        case .failed(let e):
            printError("writing output failed: \(String(cString: strerror(e)))")
            return .ioError
        case .closed, nil:
            return .success
        }
    }

    /// The ring buffer callback's work: format one record into the buffer.
    @inline(__always)
    func handle(_ t: Transition) -> Bool {
        summary.record(t)
        if json {
            JSONLines.append(t, to: &writer.buffer)
        } else {
            text.append(t, to: &writer.buffer)
        }
        do {
            try writer.flushIfFull()
        } catch {
            outputError = error
            return false
        }
        return true
    }

    func flush() throws(TracerError) {
        do {
            try writer.flush()
        } catch {
            outputError = error
        }
    }

    /// Text mode: say on stderr, as it happens, that events were lost.
    func reportNewLoss(_ tracer: Tracer, since last: LostEvents) -> LostEvents {
        var now = LostEvents()
        now.ringBufferFull = tracer.kernelCounters().ringBufferFull
        now.recursionMisses = tracer.recursionMisses()
        now.undecodable = tracer.undecodable
        if now.ringBufferFull > last.ringBufferFull {
            printError(
                "lost \(now.ringBufferFull - last.ringBufferFull) events: ring buffer full (raise --ring-buffer-size)")
        }
        if now.recursionMisses > last.recursionMisses {
            printError("lost \(now.recursionMisses - last.recursionMisses) events: program busy on that CPU (recursion misses)")
        }
        if now.undecodable > last.undecodable {
            printError("skipped \(now.undecodable - last.undecodable) undecodable records")
        }
        return now
    }
}
