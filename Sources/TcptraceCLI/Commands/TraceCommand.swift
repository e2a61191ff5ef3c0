import ArgumentParser
import TcptraceKernel
import TcptraceCore
import TcptraceHost

/// Live tracing: every transition, as text or JSON lines.
@dynamicMemberLookup
public struct TraceCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Trace TCP state transitions live (the default).",
        discussion: """
            PID/COMM in text output are the socket's owner (the process that connected or \
            listened; accepted sockets inherit their listener's) when known; otherwise the task \
            that happened to run, marked with '*'. Filters combine with AND, values in one \
            list with OR, and run in the kernel.
            """
    )

    @Option(help: "Output format: text for people, json for one JSON object per line.")
    var format: OutputFormat = .text

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file instead of standard output (created or truncated; SIGHUP reopens it, for logrotate).", valueName: "path"))
    var output: String?

    @Flag(help: "With --output: append to the file instead of truncating it (a restarted service keeps what it wrote).")
    var append = false

    /// Filters and tracer settings, shared with `top`.
    @OptionGroup var selection: TraceSelection

    @Option(
        help: ArgumentHelp(
            "While the ring buffer is more than half full, run its consumer at nice -10 (nice), SCHED_FIFO (fifo), or as started (off).",
            valueName: "mode"))
    var catchUp: CatchUpScheduling = .nice

    @Option(
        help: ArgumentHelp("Record types to emit, comma-separated: transitions,connections,lingerers (default: all).", valueName: "list"),
        transform: RecordKind.parseList)
    var events: Set<RecordKind> = Set(RecordKind.allCases)

    @Option(
        help: ArgumentHelp(
            "Emit a census record (sock_diag state counts) this often; 'off' to disable (default: 60s with --format json, off in text).",
            valueName: "duration"),
        transform: { s in
            s == "off" ? 0 : try parsed { () throws(ValueParseError) in try OptionValues.duration(s) }
        })
    var censusInterval: UInt64?

    @Option(
        help: ArgumentHelp(
            "Serve Prometheus metrics at http://HOST:PORT/metrics: an IPv4 address or [IPv6], e.g. 127.0.0.1:9464 (off by default).",
            valueName: "host:port"),
        transform: { s in
            guard let a = MetricsAddress(s) else {
                throw ValidationError("invalid --metrics-address '\(s)': give IPV4:PORT or [IPV6]:PORT, e.g. 127.0.0.1:9464")
            }
            return a
        })
    var metricsAddress: MetricsAddress?

    @Option(
        help: ArgumentHelp(
            "Write the same metrics to this file for node_exporter's textfile collector (a .prom file, replaced each second).",
            valueName: "path"))
    var metricsTextfile: String?

    public init() {}

    public mutating func validate() throws {
        if let output, output.isEmpty { throw ValidationError("--output needs a file path") }
        if append && output == nil { throw ValidationError("--append needs --output") }
        if let metricsTextfile, !metricsTextfile.hasSuffix(".prom") || metricsTextfile.hasSuffix("/.prom") {
            throw ValidationError("--metrics-textfile must name a .prom file (node_exporter's textfile collector reads only those)")
        }
    }

    /// The shared options read as if declared here (`options.closeWaitThreshold`).
    public subscript<T>(dynamicMember path: WritableKeyPath<TraceSelection, T>) -> T {
        get { selection[keyPath: path] }
        set { selection[keyPath: path] = newValue }
    }

    public subscript<T>(dynamicMember path: KeyPath<TraceSelection, T>) -> T { selection[keyPath: path] }

    public func run() throws {
        let status = trace()
        if status != .success { throw ExitCode(status.rawValue) }
    }

    /// The census records' filter: the trace filter's family and ports (either side).
    var censusFilter: CensusFilter {
        let filter = selection.filter
        var f = CensusFilter(family: filter.family, ports: filter.ports)
        if f.ports.isEmpty { f.ports = filter.localPorts + filter.remotePorts }
        return f
    }

    /// Where sockets may live (`--netns`, `--cgroup`, `--container`), looked up on this host:
    /// the filter with those set, and the one namespace the run is limited to, if any.
    func placedFilter() throws(SystemError) -> (filter: TraceFilter, namespace: NetworkNamespace?) {
        var f = selection.filter
        var namespace: NetworkNamespace?
        if let netns = selection.netns {
            guard let ns = NetworkNamespaces.resolve(netns, among: NetworkNamespaces.discover()) else {
                throw .notFound("--netns \(netns): no such network namespace")
            }
            namespace = ns
            f.netns = ns.inode
        }
        if let cgroup = selection.cgroup { f.cgroupSubtree = try CgroupV2.subtree(path: cgroup) }
        if let container = selection.container { f.cgroupSubtree = try CgroupV2.subtree(path: try CgroupV2.container(idPrefix: container)) }
        return (f, namespace)
    }

    func tracerConfiguration(filter: TraceFilter) -> Tracer.Configuration {
        var c = Tracer.Configuration()
        c.filter = filter
        c.ringBufferBytes = selection.ringBufferSize
        c.catchUp = catchUp
        // Transitions not printed: the kernel sends each socket's in one record (per CLOSE,
        // CLOSE_WAIT or LISTEN) instead of one record each.
        c.aggregate = !events.contains(.transitions)
        c.verbose = selection.verbose
        return c
    }
}
