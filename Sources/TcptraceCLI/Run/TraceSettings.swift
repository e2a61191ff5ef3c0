import TcptraceKernel
import TcptraceCore
import TcptraceHost

/// What a trace run needs from the command line, as plain values: `trace` and `top` build one
/// from their parsed options at the edge; nothing below them reads the parser's types.
struct TraceSettings {
    /// Record types to emit.
    var events: Set<RecordKind> = RecordKind.defaults
    var closeWaitThreshold: UInt64 = 30_000_000_000
    var maxConnections = 100_000
    /// `--churn-top`: TIME_WAIT makers and pressure destinations kept.
    var churnTop = TimeWaitMakers.defaultCapacity
    /// nil: the sink's default.
    var censusInterval: UInt64?
    /// The census records' filter.
    var censusFilter = CensusFilter()
    /// Stop after this many nanoseconds.
    var duration: UInt64?
    var metricsAddress: MetricsAddress?
    var metricsTextfile: String?
    var verbose = false
    var catchUp: CatchUpScheduling = .nice
    var ringBufferBytes: UInt64 = 8 << 20
    /// Where evidence turns into findings (`--threshold`).
    var thresholds = FindingThresholds()
    /// Opener stacks at connect() and accept() (`--opener-stacks`; off by default: they cost
    /// about 3 µs of kernel time per connect, see docs/benchmarks.md).
    var openerStacks = false
    /// Count the hits the kernel ran no program for with perf's counter: `--count-skips` (true:
    /// or no start), `--no-count-skips` (false), by default (nil) when perf's filter can say the
    /// run's (ports only) and perf's event opens.
    var countSkips: Bool? = nil
    /// Text: a line per lingering socket too, not only per leak group (`--leak-sockets`).
    var leakSockets = false

    /// Whether the run gathers evidence and evaluates findings: only for something that shows
    /// them (`finding` records, which `top` and `diagnose` ask for too, or the metrics). Without
    /// one, the evidence (per-peer histograms) and the census behind each evaluation are memory
    /// and CPU nobody reads: 20 MB of peak RSS in a 100k-connection storm (docs/benchmarks.md).
    var evaluatesFindings: Bool { events.contains(.findings) || metricsAddress != nil || metricsTextfile != nil }

    /// The kernel program's configuration for `filter` (the places looked up).
    func tracerConfiguration(filter: TraceFilter) -> Tracer.Configuration {
        var c = Tracer.Configuration()
        c.filter = filter
        c.ringBufferBytes = ringBufferBytes
        c.catchUp = catchUp
        // Transitions not printed: the kernel sends each socket's in one record (per CLOSE,
        // CLOSE_WAIT or LISTEN) instead of one record each.
        c.aggregate = !events.contains(.transitions)
        c.verbose = verbose
        c.captureStacks = openerStacks
        switch countSkips {
        case true?: c.countSkips = .required
        case false?: c.countSkips = .off
        case nil: c.countSkips = filter.onlyPorts ? .ifAvailable : .off
        }
        return c
    }
}

extension TraceSelection {
    /// The settings these shared options give, before the command's own.
    var settings: TraceSettings {
        var s = TraceSettings()
        s.closeWaitThreshold = closeWaitThreshold
        s.maxConnections = maxConnections
        s.churnTop = churnTop
        s.censusFilter = censusFilter
        s.duration = duration
        s.verbose = verbose
        s.ringBufferBytes = ringBufferSize
        s.thresholds = thresholds
        s.openerStacks = openerStacks
        s.countSkips = countSkips
        return s
    }

    /// The census records' filter: the trace filter's family and ports (either side).
    var censusFilter: CensusFilter {
        let filter = self.filter
        var f = CensusFilter(family: filter.family, ports: filter.ports)
        if f.ports.isEmpty { f.ports = filter.localPorts + filter.remotePorts }
        return f
    }

    /// Where sockets may live (`--netns`, `--cgroup`, `--container`), looked up on this host:
    /// the filter with those set, and the one namespace the run is limited to, if any.
    func placedFilter() throws(SystemError) -> (filter: TraceFilter, namespace: NetworkNamespace?) {
        var f = filter
        var namespace: NetworkNamespace?
        if let netns {
            let ns = try NetworkNamespaces.resolve(netns, among: NetworkNamespaces.discover())
            namespace = ns
            f.netns = ns.inode
        }
        if let cgroup { f.cgroupSubtree = try CgroupV2.subtree(path: cgroup) }
        if let container { f.cgroupSubtree = try CgroupV2.subtree(path: try CgroupV2.container(idPrefix: container)) }
        return (f, namespace)
    }

    /// The same, or the status to exit with once the error is said (a place that does not
    /// exist is a usage error).
    func placedFilterOrStatus() -> Placed {
        do throws(SystemError) {
            let p = try placedFilter()
            return .placed(p.filter, p.namespace)
        } catch {
            printError(error.description)
            return .failed(error.exitStatus == .osError ? .usage : error.exitStatus)
        }
    }

    enum Placed {
        case placed(TraceFilter, NetworkNamespace?)
        case failed(ExitStatus)
    }
}
