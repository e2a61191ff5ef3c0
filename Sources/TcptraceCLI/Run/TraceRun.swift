import TcptraceKernel
import TcptraceHost
import TcptraceCore

extension TraceCommand {
    /// The `trace` run: output, one sink for it, then `TraceRun` does the rest.
    func trace() -> ExitStatus {
        // Output first: an unwritable path is the user's to fix before anything is loaded.
        let writer: LineWriter
        if let output {
            do {
                writer = try LineWriter.open(path: output, append: append)
            } catch {
                printError("cannot write output file \(error)")
                return .cannotCreate
            }
        } else {
            writer = LineWriter()
        }
        // --netns, --cgroup and --container name things on this host: looked up once.
        let placed: (filter: TraceFilter, namespace: NetworkNamespace?)
        switch selection.placedFilterOrStatus() {
        case .placed(let f, let ns): placed = (f, ns)
        case .failed(let status): return status
        }
        let namespaces = NamespaceDiag(only: placed.namespace)
        // The one place the format is looked at: the run is specialized on the sink's type.
        switch format {
        case .json:
            return TraceRun(settings: settings, filter: placed.filter, namespaces: namespaces, writer: writer, sink: JSONRecordSink()).run()
        case .text:
            let text = TextLines(utcOffsetSeconds: SystemClock.utcOffsetSeconds())
            return TraceRun(
                settings: settings, filter: placed.filter, namespaces: namespaces, writer: writer,
                sink: TextRecordSink(text: text, color: writer.isTerminal, showsSockets: settings.leakSockets)
            ).run()
        }
    }
}

/// One run of the tracer: tracer → table → records → one sink. `run` owns the order of things
/// (preflight, load, poll loop, drain, summary); printing lives in `handle`; periodic work
/// comes from one schedule.
///
/// Threads: the run's own thread polls the ring buffer, formats every record into the output
/// buffer, writes it, and does the periodic work that needs the connection table (lingerer
/// checks, reconciliation), which is short unless there are lingerers or losses. The census —
/// a sock_diag dump of every namespace, slow with many sockets and needing no table — runs on
/// a thread of its own (`censusJob`, one at a time); its records are collected and written by
/// the run's thread after the next poll. While the ring is more than half full the run's
/// thread runs at a raised priority (`--catch-up`, in `Tracer`).
final class TraceRun<Sink: RecordSink> {
    let settings: TraceSettings
    /// The options' filter with the places (`--netns`, `--cgroup`, `--container`) looked up.
    let filter: TraceFilter
    /// sock_diag in every network namespace the run covers.
    let namespaces: NamespaceDiag
    /// The container of each cgroup the records name.
    let containers = ContainerNames()
    let writer: LineWriter
    /// Table, summary and time cache: touched by every event, so kept in one struct behind a
    /// pointer this run owns (no exclusivity check or retain/release per access).
    let hot: UnsafeMutablePointer<HotState>
    let emitTransitions: Bool
    let emitConnections: Bool
    let emitLingerers: Bool
    let emitFindings: Bool
    /// Evidence gathered and findings evaluated (`TraceSettings.evaluatesFindings`).
    let evaluatesFindings: Bool
    /// Evidence, analyzers and open findings.
    let findings: FindingsWork
    /// `churn`, `port_pressure` and `port_range` records.
    let emitChurn: Bool
    /// The kernel aggregates transitions (`Tracer.Configuration.aggregate`).
    let aggregated: Bool
    /// The first output error; it stops the run.
    var outputError: OutputError?
    let lingererHolders: LingererHolders
    /// CLOSE_WAIT leak groups and opener stacks.
    let leaks: LeakTracker
    /// The census in flight on its own thread, with the namespaces and sockets it alone uses.
    let censusJob = BackgroundJob<CensusTaker.Taken>()
    let censusTaker: CensusTaker
    /// Who asked for a census since the last one was collected.
    var censusUses: CensusUse = []
    /// Why the last SIGHUP could not reopen the output (said once until a reopen works).
    var reopenRefusal: OutputFile.OpenError?
    var reconciliation = LossReconciliation()
    /// Connections reconciliation found gone with no loss counted: their end never reached the
    /// programs (added to `lost.unseen`).
    var vanishedUncounted: UInt64 = 0
    var lossReport = LossReport()
    /// `--metrics-address`, `--metrics-textfile`; nil without them.
    var metrics: MetricsExport?
    /// When a `--duration` run ends (monotonic ns).
    var deadline: UInt64?
    /// Declared last: the fields before it keep offsets fixed for every `Sink`.
    let sink: Sink

    static var pollMilliseconds: Int32 { 100 }

    var summary: RunSummary {
        get { hot.pointee.summary }
        _modify { yield &hot.pointee.summary }
        set { hot.pointee.summary = newValue }
    }
    var table: ConnectionTable {
        get { hot.pointee.table }
        _modify { yield &hot.pointee.table }
        set { hot.pointee.table = newValue }
    }

    init(settings: TraceSettings, filter: TraceFilter, namespaces: NamespaceDiag, writer: LineWriter, sink: Sink) {
        self.settings = settings
        self.filter = filter
        self.namespaces = namespaces
        self.writer = writer
        self.sink = sink
        hot = .allocate(capacity: 1)
        hot.initialize(
            to: HotState(
                table: ConnectionTable(capacity: settings.maxConnections, lingerThresholdNanoseconds: settings.closeWaitThreshold),
                summary: RunSummary(start: WallTime(nanoseconds: 0)), timeCache: RFC3339Cache()))
        emitTransitions = settings.events.contains(.transitions)
        emitConnections = settings.events.contains(.connections)
        emitLingerers = settings.events.contains(.lingerers)
        emitFindings = settings.events.contains(.findings)
        evaluatesFindings = settings.evaluatesFindings
        findings = FindingsWork(thresholds: settings.thresholds, saysMissing: true)
        emitChurn = settings.events.contains(.churn)
        lingererHolders = LingererHolders(limit: settings.maxConnections)
        leaks = LeakTracker(maxSockets: settings.maxConnections)
        censusTaker = CensusTaker(filter: settings.censusFilter, only: namespaces.only)
        aggregated = settings.tracerConfiguration(filter: filter).aggregate
    }

    deinit {
        hot.deinitialize(count: 1)
        hot.deallocate()
    }

    func run() -> ExitStatus {
        let tracer: Tracer
        do {
            try Preflight.checkPrivileges(otherNamespaces: namespaces.only?.isOwn != true)
            try Preflight.checkKernel()
            if let failed = startMetrics() { return failed }
            StopSignal.install()
            tracer = try Tracer(
                configuration: settings.tracerConfiguration(filter: filter), clock: SystemClock.monotonicToWall(),
                handler: { [out = writer.storage] t in self.handle(t, out: out) }, batchHandler: batchHandler())
        } catch {
            printError(error.description)
            return error.exitStatus
        }
        summary = RunSummary(start: SystemClock.wallNow())
        summary.churn = ChurnTracker(top: settings.churnTop)
        if let why = tracer.acceptStacksUnavailable { printError("accept() opener stacks off: \(why)") }
        if let why = tracer.skipCountingUnavailable {
            printError("hits the kernel runs no BPF program for are counted only as gaps (lost.unseen, a lower bound): \(why)")
        }
        if let why = tracer.heldCountUnavailable {
            printError("transitions held by sockets the kernel skips to their end are not counted: \(why)")
        }
        seedPreexistingSockets()
        dropPrivileges(tracer)
        let deadline = settings.duration.map { SystemClock.monotonicNanoseconds() + $0 }
        if Sink.saysStart {
            printError(
                "tracing TCP state transitions\(settings.duration == nil ? "" : " for \(settings.duration! / 1_000_000) ms"); Ctrl-C to end")
        }
        self.deadline = deadline
        if emitTransitions { sink.appendTransitionHeader(to: &writer.buffer) }

        var overflow = TimeWaitOverflow()
        var schedule = PeriodicSchedule(intervals, start: SystemClock.monotonicNanoseconds())
        do {
            while StopSignal.received == 0 && outputError == nil {
                let now = SystemClock.monotonicNanoseconds()
                if let deadline, now >= deadline { break }
                let timeout = deadline.map { Int32(min(UInt64(Self.pollMilliseconds), ($0 - now) / 1_000_000 + 1)) }
                try tracer.poll(timeoutMilliseconds: timeout ?? Self.pollMilliseconds)
                collectCensus()
                if outputError == nil { flush() }
                if StopSignal.takeHangup() { reopenOutput() }
                let due = schedule.takeDue(at: now)
                for work in due { perform(work, tracer: tracer, overflow: &overflow) }
                if !due.isEmpty && outputError == nil { flush() }
            }
            // Stop new events, then deliver everything already queued, and a census in flight.
            // Output gone: still drained, so the summary counts every event and the writer the
            // lines it could not write (a reader that went away: nobody is asking).
            let heldCountRefused = tracer.heldCountUnavailable
            tracer.stop(namespaces: namespaces.namespaces)
            if let why = tracer.heldCountUnavailable, why != heldCountRefused {
                printError("transitions held by sockets the kernel skipped to their end are not counted: \(why)")
            }
            if !outputClosed { try tracer.drain() }
            censusJob.wait()
            collectCensus()
        } catch {
            printError(error.description)
            return error.exitStatus
        }
        return finish(tracer, overflow: overflow)
    }

    /// The ring buffer callback's work: format one record into the output buffer `out`
    /// (the writer's storage, passed in by the closure so no class property is read per event).
    @inline(__always)
    func handle(_ event: consuming Transition, out: UnsafeMutablePointer<[UInt8]>) -> Bool {
        let hot = self.hot
        hot.pointee.outcome.reset()
        hot.pointee.table.ingest(borrowing: event, summary: &hot.pointee.summary, into: &hot.pointee.outcome)
        var t = consume event
        if t.owner == nil { t.owner = hot.pointee.outcome.owner }
        if emitTransitions {
            containers.name(&t.identity, now: t.time)
            sink.append(&t, to: &out.pointee, timeCache: &hot.pointee.timeCache)
        }
        return emitOutcome(out: out)
    }

    /// `handle` for a batch of one socket's transitions (aggregated mode: none is printed).
    @inline(__always)
    func handle(batch: borrowing TransitionBatch, out: UnsafeMutablePointer<[UInt8]>) -> Bool {
        hot.pointee.outcome.reset()
        hot.pointee.table.ingest(batch: batch, summary: &hot.pointee.summary, into: &hot.pointee.outcome)
        return emitOutcome(out: out)
    }

    /// In aggregated mode, batches go to the table whole.
    func batchHandler() -> Tracer.BatchHandler? {
        guard aggregated else { return nil }
        let out = writer.storage
        return { (b: borrowing TransitionBatch) in self.handle(batch: b, out: out) }
    }

    /// The records an event or batch made (`hot.pointee.outcome`): its connection and a
    /// lingerer leaving CLOSE_WAIT. The connection record is used in place, not copied out.
    @inline(__always)
    func emitOutcome(out: UnsafeMutablePointer<[UInt8]>) -> Bool {
        let hot = self.hot
        if hot.pointee.outcome.hasConnection {
            if evaluatesFindings { findings.observe(connection: hot.pointee.outcome.closedConnection) }
            if emitConnections {
                let time = hot.pointee.outcome.closedConnection.time
                containers.name(&hot.pointee.outcome.closedConnection.identity, now: time)
                sink.append(&hot.pointee.outcome.closedConnection, to: &out.pointee, timeCache: &hot.pointee.timeCache)
            }
            if hot.pointee.outcome.closedConnection.role == .client {
                notePortPressure(hot.pointee.outcome.closedConnection, out: out)
            }
        }
        if hot.pointee.outcome.hasLingererClosed {
            var l = hot.pointee.outcome.closedLingerer
            leaks.remove(cookie: l.identity.cookie, now: l.time)
            if let h = lingererHolders.takeHolder(ofClosed: l.identity.cookie) { l.holder = h }
            containers.name(&l.identity, now: l.time, force: true)
            emit(l)
        }
        if out.pointee.count >= LineWriter.flushThresholdBytes {
            do {
                try writer.flush()
            } catch {
                outputError = error
                // A reader gone: stop at once. Output failed or stalled: go on consuming, so the
                // summary counts every event and the writer the lines it could not write.
                if case .closed = error { return false }
            }
        }
        return true
    }

    /// How often each piece of periodic work runs in this run.
    var intervals: PeriodicSchedule.Intervals {
        var i = PeriodicSchedule.Intervals()
        if !Sink.saysLossAsItHappens { i.lossReport = nil }
        i.census = settings.censusInterval ?? Sink.defaultCensusInterval
        if emitChurn { i.churn = Self.churnInterval }
        if metrics != nil { i.metrics = MetricsExport.interval }
        i.screen = Sink.screenInterval
        i.findings = evaluatesFindings ? Sink.findingsInterval : nil
        i.progress = sink.progressInterval
        return i
    }

    /// One piece of periodic work, due now.
    func perform(_ work: PeriodicSchedule.Work, tracer: Tracer, overflow: inout TimeWaitOverflow) {
        switch work {
        case .lossReport:
            lossReport.sayNew(lost(tracer))
        case .lingererCheck:
            checkLingerers(tracer: tracer)
        case .overflowCheck:
            reportTimeWaitOverflow(&overflow)
        case .reconcile:
            let r = reconciliation.reconcile(&table, lost: lost(tracer).total, namespaces: namespaces)
            summary.vanishedConnections += UInt64(r.vanished)
            vanishedUncounted += UInt64(r.uncounted)
        case .census:
            startCensus(for: .output)
        case .churn:
            writeChurn()
        case .metrics:
            publishMetrics(tracer, overflow: overflow)
        case .findings:
            startCensus(for: .findings)
            evaluateFindings(tracer, overflow: overflow)
        case .progress:
            sink.sayProgress(
                left: deadline.map { $0 > SystemClock.monotonicNanoseconds() ? $0 - SystemClock.monotonicNanoseconds() : 0 },
                summary: summary, lingerers: findings.evidence.holders.values.reduce(0) { $0 + $1.open.count }, open: findings.tracker.ranked)
        case .screen:
            let live = LiveRun(summary: summary, lost: lost(tracer)) { [table] in table.state(of: $0) == .closeWait }
            if !sink.refresh(live, to: &writer.buffer) { StopSignal.request() }
        }
    }

    /// The summary record, and the exit status. When the output is gone (a write failed, or it
    /// stalled after the stop signal), the summary goes to standard error instead, after a line
    /// saying why and how many lines were not written.
    func finish(_ tracer: Tracer, overflow: TimeWaitOverflow) -> ExitStatus {
        if outputClosed { return .success }
        summary.end = SystemClock.wallNow()
        takeCounters(into: &summary, tracer: tracer)
        if let grew = overflow.sinceStart() { summary.timeWaitOverflow = grew }
        publishMetrics(tracer, overflow: overflow, final: true)
        if Sink.saysLossAsItHappens { lossReport.sayNew(summary.lost) }
        if evaluatesFindings && Sink.findingsInterval != nil {
            // The last word: a census now, the counters as they end.
            startCensus(for: .findings)
            censusJob.wait()
            collectCensus()
            evaluateFindings(tracer, overflow: overflow, final: true)
        }
        sink.endProgress()
        flush()
        let unwrittenBeforeSummary = writer.unwrittenLines
        let leaksAtEnd = leaks.exit(now: summary.end)
        if outputError == nil {
            if emitLingerers && Sink.leaksBeforeSummary { sink.appendLeaksAtEnd(leaksAtEnd, stacks: leaks.book.stacks, to: &writer.buffer) }
            sink.appendEnd(summary, findings: findings.tracker.ranked, to: &writer.buffer)
            if emitLingerers && !Sink.leaksBeforeSummary { sink.appendLeaksAtEnd(leaksAtEnd, stacks: leaks.book.stacks, to: &writer.buffer) }
            flush()
        }
        guard let outputError, !outputClosed else { return .success }
        var text: [UInt8] = []
        sink.append(summary, to: &text)
        printError(
            "writing output failed: \(outputError); \(unwrittenBeforeSummary) lines not written; the summary follows on standard error")
        writeStandardError(text)
        return .ioError
    }

    /// The reader went away (EPIPE, or a terminal hung up): the run ends quietly.
    var outputClosed: Bool {
        if case .closed = outputError { return true }
        return false
    }

    func seedPreexistingSockets() {
        do {
            try PreexistingSockets.seed(
                &table, filter: filter, limit: settings.maxConnections, holders: lingererHolders.sockets, namespaces: namespaces,
                now: SystemClock.wallNow())
        } catch {
            printError("start-up census failed, sockets from before the start are unknown: \(error)")
        }
    }

    /// Sockets that crossed the CLOSE_WAIT threshold, with the process and fd holding them.
    func checkLingerers(tracer: Tracer?) {
        var due = table.dueLingerers(now: SystemClock.wallNow())
        defer { emitLeaks(now: SystemClock.wallNow()) }
        guard !due.isEmpty else { return }
        let left = lingererHolders.resolve(&due, namespaces: namespaces)
        if aggregated && !left.isEmpty {
            // Left CLOSE_WAIT in the kernel (its batch comes at CLOSE): not a lingerer, as the
            // transition would have said in time.
            for cookie in left {
                table.withdrawLingerer(cookie)
                _ = lingererHolders.takeHolder(ofClosed: cookie)
            }
            due.removeAll { left.contains($0.identity.cookie) }
        }
        // Read once per holder: 13,500 lingerers of three processes took 4.5 s read one by one.
        var cgroupOf: [UInt32: UInt64?] = [:]
        for var l in due {
            // Found by the start-up census: the kernel never said its cgroup; its holder's is it.
            if l.identity.cgroup == nil, let pid = l.holder?.process.pid {
                if cgroupOf[pid] == nil { cgroupOf[pid] = .some(CgroupV2.cgroup(ofProcess: pid)?.id) }
                l.identity.cgroup = cgroupOf[pid]!
            }
            containers.name(&l.identity, now: l.time, force: true)
            summary.record(l)
            emit(l)
        }
        noteLeaks(due, tracer: tracer)
    }

    /// TIME_WAIT sockets the kernel refused to create (tcp_max_tw_buckets): say so when it grows.
    func reportTimeWaitOverflow(_ overflow: inout TimeWaitOverflow) {
        if let grew = overflow.growth() {
            printError(
                "TcpExtTCPTimeWaitOverflow grew by \(grew): tcp_max_tw_buckets reached, connections closing without TIME_WAIT")
        }
    }

    /// `census` records: states of every TCP socket now, from sock_diag, one per namespace,
    /// taken on the census thread.
    /// Starts a census on its thread for `use`. One under way (or finished and not yet
    /// collected) serves this request too: at most one census runs at a time.
    func startCensus(for use: CensusUse) {
        censusUses.formUnion(use)
        _ = censusJob.start({ [censusTaker] in censusTaker.take() })
    }

    /// Hands a finished census to those who asked for it.
    func collectCensus() {
        guard let taken = censusJob.take() else { return }
        let uses = censusUses
        censusUses = []
        if uses.contains(.output) {
            sink.append(censusRound: taken.records, to: &writer.buffer)
            if let error = taken.error { printError("census failed: \(error)") }
            // Open connections hold local ports too: from the records written, as a replay reads them.
            for c in taken.records { summary.churn.observe(censusOf: c.netns, c.exhaustion.map(CensusRecord.Exhaustion.init)) }
        }
        if uses.contains(.metrics) { noteCensus(taken) }
        if evaluatesFindings && taken.error == nil { findings.observe(census: taken.records) }
    }

    func emit(_ l: LingererRecord) {
        countForMetrics(l)
        if evaluatesFindings { findings.observe(lingerer: l) }
        guard emitLingerers else { return }
        sink.append(l, to: &writer.buffer)
    }

    /// The analyzers now; the records of what changed go to the sink.
    func evaluateFindings(_ tracer: Tracer, overflow: TimeWaitOverflow, final: Bool = false) {
        let lost = final ? summary.lost : self.lost(tracer)
        let now = SystemClock.wallNow()
        findings.evidence.observe(churn: summary.churn, now: now)
        findings.evidence.observe(leaks: leaks.book.groups)
        let changed = findings.evaluate(
            now: now, namespaces: namespaces.namespaces, lost: lost, events: summary.events,
            timeWaitOverflow: overflow.sinceStart())
        guard emitFindings else { return }
        for var r in changed { sink.append(&r, to: &writer.buffer) }
    }

    /// Writes what is buffered; a failure stops the run.
    func flush() {
        do {
            try writer.flush()
        } catch {
            outputError = error
        }
    }
}
