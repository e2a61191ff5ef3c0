import TcptraceKernel
import TcptraceHost
import TcptraceCore

/// `--metrics-address` and `--metrics-textfile`: what the run keeps for them between snapshots.
final class MetricsExport {
    /// How often a snapshot is published (and the textfile rewritten).
    static let interval: UInt64 = 1_000_000_000
    /// How often the census behind `tcptrace_sockets` is taken (a sock_diag dump per namespace).
    static let censusInterval: UInt64 = 5_000_000_000

    let exchange: MetricsExchange
    var server: MetricsServer?
    var textfile: MetricsTextfile?
    var lingerers: LingererTally
    var census: [Census]?
    var censusTaken: UInt64?
    var censusFailed = false
    var textfileFailed = false

    init(first: MetricsSnapshot, limit: Int) {
        exchange = MetricsExchange(first)
        lingerers = LingererTally(limit: limit)
    }

    /// Also when the run ends early (the program failed to load): the thread ends with it.
    deinit { server?.stop() }

    func writeTextfile() {
        guard let textfile else { return }
        do {
            try textfile.write(exchange.render())
            textfileFailed = false
        } catch {
            if !textfileFailed { printError("writing --metrics-textfile \(error.path) failed: \(error.reason)") }
            textfileFailed = true
        }
    }
}

extension TraceRun {
    /// Listens on `--metrics-address` and writes `--metrics-textfile` once, before the program is
    /// loaded; returns the exit status when either cannot be done.
    func startMetrics() -> ExitStatus? {
        guard settings.metricsAddress != nil || settings.metricsTextfile != nil else { return nil }
        let export = MetricsExport(first: MetricsSnapshot(summary: summary), limit: settings.maxConnections)
        if let path = settings.metricsTextfile {
            let file = MetricsTextfile(path: path)
            do {
                try file.write(export.exchange.render())
            } catch {
                printError("cannot write --metrics-textfile \(error)")
                return .cannotCreate
            }
            export.textfile = file
        }
        if let address = settings.metricsAddress {
            do {
                export.server = try MetricsServer(address: address, exchange: export.exchange)
            } catch {
                printError(error.description)
                return error.exitStatus
            }
            export.server?.start()
        }
        metrics = export
        return nil
    }

    /// A snapshot for the next scrapes: a copy of the summary with the kernel's counters now, and
    /// the latest census. `final`: the end of the run (no new census; the server stops after).
    func publishMetrics(_ tracer: Tracer, overflow: TimeWaitOverflow, final: Bool = false) {
        guard let m = metrics else { return }
        let now = SystemClock.monotonicNanoseconds()
        // The census behind tcptrace_sockets comes from the run's census thread (`startCensus`),
        // never from this thread: a dump of a large socket table would hold up the ring.
        if !final, m.censusTaken.map({ now &- $0 >= MetricsExport.censusInterval }) ?? true {
            startCensus(for: .metrics)
            m.censusTaken = now
        }
        var s = summary
        if !final {
            s.end = SystemClock.wallNow()
            takeCounters(into: &s, tracer: tracer)
        }
        var snapshot = MetricsSnapshot(
            summary: s, census: m.census, lingerers: m.lingerers, tracked: table.count,
            timeWaitOverflow: final ? s.timeWaitOverflow : overflow.sinceStart(),
            hostRetransmittedSegments: ProcessSelf.retransmittedSegments(), programs: tracer.programRunStats())
        snapshot.leaks = leaks.groups.current(now: s.end)
        snapshot.findings = findings.tracker.counts
        m.exchange.publish(snapshot)
        m.writeTextfile()
        if final { m.server?.stop() }
    }

    /// Every event lost so far: the kernel's counts, and the connections found gone uncounted.
    func lost(_ tracer: Tracer) -> LostEvents {
        var l = tracer.lostEvents
        l.unseen = unseen(tracer, tracer.kernelCounters())
        return l
    }

    /// Transitions the kernel ran no program for (`Tracer.unseenTransitions`), with the
    /// connections the reconciliation found gone uncounted.
    func unseen(_ tracer: Tracer, _ k: KernelCounters) -> UInt64 {
        tracer.unseenTransitions(k, vanished: vanishedUncounted)
    }

    /// The kernel's and the table's counters, now, into a summary.
    func takeCounters(into s: inout RunSummary, tracer: Tracer) {
        s.kernel = tracer.kernelCounters()
        s.kernel.ringRecords = tracer.records
        s.lost.ringBufferFull = s.kernel.ringBufferFull
        s.lost.recursionMisses = tracer.recursionMisses()
        s.lost.undecodable = tracer.undecodable
        s.lost.unseen = unseen(tracer, s.kernel)
        s.tableEvictions = table.evictions
        s.openConnections = UInt64(table.count)
    }

    /// A census for the metrics (taken by the run's census thread): the socket counts now, or
    /// none when it failed (no stale counts: tcptrace_sockets is left out until a census works).
    func noteCensus(_ taken: CensusTaker.Taken) {
        guard let m = metrics else { return }
        if let error = taken.error {
            m.census = nil
            if !m.censusFailed { printError("census for metrics failed, tcptrace_sockets left out: \(error)") }
            m.censusFailed = true
        } else {
            m.census = taken.records
            m.censusFailed = false
        }
    }

    /// Counts a lingerer (reported, or seen closing) for the metrics.
    func countForMetrics(_ l: LingererRecord) {
        guard let m = metrics else { return }
        m.lingerers.record(l, container: l.identity.container.flatMap { ContainerRegistry.shared.info($0)?.shortName })
    }
}
