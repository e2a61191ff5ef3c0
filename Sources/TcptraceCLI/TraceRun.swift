import TcptraceKernel
import TcptraceHost
import TcptraceCore

/// One run of the tracer: open output, check the host, load, poll until told to stop, drain,
/// summarize. Printing lives in `handle`; this type owns the order of things.
final class TraceRun {
    let options: TraceCommand
    var writer: LineWriter!
    /// Table, summary and time cache: touched by every event, so kept in one struct behind a
    /// pointer this run owns (no exclusivity check or retain/release per access).
    let hot: UnsafeMutablePointer<HotState>
    var summary: RunSummary {
        get { hot.pointee.summary }
        _modify { yield &hot.pointee.summary }
        set { hot.pointee.summary = newValue }
    }
    let text: TextLines
    let json: Bool
    /// The first output error; it stops the run.
    var outputError: OutputError?
    var table: ConnectionTable {
        get { hot.pointee.table }
        _modify { yield &hot.pointee.table }
        set { hot.pointee.table = newValue }
    }
    let lingererHolders: LingererHolders
    var reconciliation = LossReconciliation()
    var lossReport = LossReport()
    let emitTransitions: Bool
    let emitConnections: Bool
    let emitLingerers: Bool
    var color = false

    static let pollMilliseconds: Int32 = 100

    init(options: TraceCommand) {
        self.options = options
        self.json = options.format == .json
        self.text = TextLines(utcOffsetSeconds: SystemClock.utcOffsetSeconds())
        hot = .allocate(capacity: 1)
        hot.initialize(
            to: HotState(
                table: ConnectionTable(capacity: options.maxConnections, lingerThresholdNanoseconds: options.closeWaitThreshold),
                summary: RunSummary(start: WallTime(nanoseconds: 0)), timeCache: RFC3339Cache()))
        emitTransitions = options.events.contains(.transitions)
        emitConnections = options.events.contains(.connections)
        emitLingerers = options.events.contains(.lingerers)
        lingererHolders = LingererHolders(limit: options.maxConnections)
    }

    deinit {
        hot.deinitialize(count: 1)
        hot.deallocate()
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
            writer = LineWriter()
        }

        let tracer: Tracer
        do {
            try Preflight.checkPrivileges()
            try Preflight.checkKernel()
            StopSignal.install()
            tracer = try Tracer(
                configuration: options.tracerConfiguration, clock: SystemClock.monotonicToWall(),
                handler: { [out = writer.storage] t in self.handle(t, out: out) })
        } catch {
            printError(error.description)
            return error.exitStatus
        }
        summary = RunSummary(start: SystemClock.wallNow())
        seedPreexistingSockets()
        let deadline = options.duration.map { SystemClock.monotonicNanoseconds() + $0 }
        printError(
            "tracing TCP state transitions\(options.duration == nil ? "" : " for \(options.duration! / 1_000_000) ms"); Ctrl-C to end")

        color = !json && writer.isTerminal
        if !json && emitTransitions {
            writer.buffer.append(TextLines.header)
        }
        var overflow = TimeWaitOverflow()
        let censusEvery = options.censusInterval ?? (json ? 60_000_000_000 : 0)
        var nextOverflowCheck = SystemClock.monotonicNanoseconds() + 10_000_000_000
        var nextReconcile = SystemClock.monotonicNanoseconds() + 5_000_000_000
        var nextCensus = censusEvery > 0 ? SystemClock.monotonicNanoseconds() + censusEvery : UInt64.max
        var nextLossCheck = SystemClock.monotonicNanoseconds()
        do {
            while StopSignal.received == 0 && outputError == nil {
                let now = SystemClock.monotonicNanoseconds()
                if let deadline, now >= deadline { break }
                let timeout = deadline.map { Int32(min(UInt64(Self.pollMilliseconds), ($0 - now) / 1_000_000 + 1)) }
                try tracer.poll(timeoutMilliseconds: timeout ?? Self.pollMilliseconds)
                if outputError == nil { try flush() }
                if now >= nextLossCheck {
                    if !json { lossReport.sayNew(tracer.lostEvents) }
                    checkLingerers()
                    if now >= nextOverflowCheck {
                        reportTimeWaitOverflow(&overflow)
                        nextOverflowCheck = now + 10_000_000_000
                    }
                    if now >= nextReconcile {
                        summary.vanishedConnections += UInt64(reconciliation.reconcile(&table, lost: tracer.lostEvents.total))
                        nextReconcile = now + 5_000_000_000
                    }
                    if now >= nextCensus {
                        emitCensus()
                        nextCensus = now + censusEvery
                    }
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
        summary.openConnections = UInt64(table.count)
        if let grew = overflow.sinceStart() { summary.timeWaitOverflow = grew }
        if !json { lossReport.sayNew(summary.lost) }
        if json {
            JSONLines.append(summary, to: &writer.buffer)
        } else {
            text.appendSummary(summary, to: &writer.buffer)
        }
        try? flush()
        switch outputError {
        case .failed(let e):
            printError("writing output failed: \(Errno(e).description)")
            return .ioError
        case .closed, nil:
            return .success
        }
    }

    /// The ring buffer callback's work: format one record into the output buffer `out`
    /// (the writer's storage, passed in by the closure so no class property is read per event).
    @inline(__always)
    func handle(_ event: consuming Transition, out: UnsafeMutablePointer<[UInt8]>) -> Bool {
        let hot = self.hot
        var outcome = ConnectionTable.Outcome()
        var t = hot.pointee.ingest(event, into: &outcome)
        if emitTransitions {
            if json {
                JSONLines.append(&t, to: &out.pointee, timeCache: &hot.pointee.timeCache)
            } else {
                text.append(t, to: &out.pointee)
            }
        }
        if var c = outcome.connection {
            if emitConnections {
                if json {
                    JSONLines.append(&c, to: &out.pointee, timeCache: &hot.pointee.timeCache)
                } else {
                    text.append(c, to: &out.pointee)
                }
            }
        }
        if var l = outcome.lingererClosed {
            if let h = lingererHolders.takeHolder(ofClosed: l.identity.cookie) { l.holder = h }
            emit(l)
        }
        if out.pointee.count >= LineWriter.flushThresholdBytes {
            do {
                try writer.flush()
            } catch {
                outputError = error
                return false
            }
        }
        return true
    }

    func seedPreexistingSockets() {
        do {
            try PreexistingSockets.seed(
                &table, filter: options.filter, limit: options.maxConnections, holders: lingererHolders.sockets,
                now: SystemClock.wallNow())
        } catch {
            printError("start-up census failed, sockets from before the start are unknown: \(error)")
        }
    }

    /// Once a second: sockets that crossed the CLOSE_WAIT threshold, with the process and fd
    /// holding them.
    func checkLingerers() {
        var due = table.dueLingerers(now: SystemClock.wallNow())
        guard !due.isEmpty else { return }
        lingererHolders.resolve(&due)
        for l in due {
            summary.record(l)
            emit(l)
        }
    }

    /// TIME_WAIT sockets the kernel refused to create (tcp_max_tw_buckets): say so when it grows.
    func reportTimeWaitOverflow(_ overflow: inout TimeWaitOverflow) {
        if let grew = overflow.growth() {
            printError(
                "TcpExtTCPTimeWaitOverflow grew by \(grew): tcp_max_tw_buckets reached, connections closing without TIME_WAIT")
        }
    }

    /// A periodic `census` record: states of every TCP socket now, from sock_diag.
    func emitCensus() {
        do {
            let census = try CensusSource.take(filter: options.censusFilter)
            if json { JSONLines.append(census, to: &writer.buffer) } else { text.appendCensus(census, to: &writer.buffer) }
        } catch {
            printError("census failed: \(error)")
        }
    }

    func emit(_ l: LingererRecord) {
        guard emitLingerers else { return }
        if json { JSONLines.append(l, to: &writer.buffer) } else { text.append(l, color: color, to: &writer.buffer) }
    }

    func flush() throws(SystemError) {
        do {
            try writer.flush()
        } catch {
            outputError = error
        }
    }
}

/// The state every event touches (see `TraceRun.hot`).
struct HotState {
    var table: ConnectionTable
    var summary: RunSummary
    var timeCache: RFC3339Cache

    @inline(__always)
    mutating func ingest(_ event: Transition, into outcome: inout ConnectionTable.Outcome) -> Transition {
        table.ingest(event, summary: &summary, into: &outcome)
    }
}
