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
    var table: ConnectionTable
    let holders = SocketHolders()
    /// Who held each reported lingerer, so its `closed` record names the same process.
    var lingererHolders: [UInt64: LingererRecord.Holder] = [:]
    let emitTransitions: Bool
    let emitConnections: Bool
    let emitLingerers: Bool
    var color = false
    var timeCache = RFC3339Cache()

    static let pollMilliseconds: Int32 = 100

    init(options: TraceCommand) {
        self.options = options
        self.json = options.format == .json
        self.text = TextLines(utcOffsetSeconds: SystemClock.utcOffsetSeconds())
        self.table = ConnectionTable(capacity: options.maxConnections, lingerThresholdNanoseconds: options.closeWaitThreshold)
        emitTransitions = options.events.contains(.transitions)
        emitConnections = options.events.contains(.connections)
        emitLingerers = options.events.contains(.lingerers)
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

        color = !json && writer.isTerminal
        if !json && emitTransitions {
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
                if now >= nextLossCheck {
                    if !json { reportedLoss = reportNewLoss(tracer, since: reportedLoss) }
                    checkLingerers()
                    if outputError == nil { try flush() }
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
        summary.tableEvictions = table.evictions
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
        if emitTransitions {
            if json {
                JSONLines.append(t, to: &writer.buffer, timeCache: &timeCache)
            } else {
                text.append(t, to: &writer.buffer)
            }
        }
        let outcome = table.apply(t)
        if let c = outcome.connection {
            summary.connections += 1
            if emitConnections {
                if json { JSONLines.append(c, to: &writer.buffer, timeCache: &timeCache) } else { text.append(c, to: &writer.buffer) }
            }
        }
        if var l = outcome.lingererClosed {
            if let h = lingererHolders.removeValue(forKey: l.cookie) { l.holder = h }
            emit(l)
        }
        do {
            try writer.flushIfFull()
        } catch {
            outputError = error
            return false
        }
        return true
    }

    /// Once a second: sockets that crossed the CLOSE_WAIT threshold, with the process and fd
    /// that hold them according to /proc (one cached scan, only when there is something new).
    func checkLingerers() {
        var due = table.dueLingerers(now: SystemClock.wallNow())
        guard !due.isEmpty else { return }
        let found = holders.holders(of: Set(due.compactMap(\.inode)))
        for i in due.indices {
            if let inode = due[i].inode, let h = found[inode] { due[i].holder = h }
            if let h = due[i].holder { lingererHolders[due[i].cookie] = h }
            summary.record(due[i])
            emit(due[i])
        }
    }

    func emit(_ l: LingererRecord) {
        guard emitLingerers else { return }
        if json { JSONLines.append(l, to: &writer.buffer) } else { text.append(l, color: color, to: &writer.buffer) }
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
