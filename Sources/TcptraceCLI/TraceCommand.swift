import ArgumentParser
import TcptraceKernel
import TcptraceCore
import TcptraceHost

/// The record types a run can emit (`--events`).
public enum RecordKind: String, CaseIterable, Sendable {
    case transitions, connections, lingerers

    static func parseList(_ text: String) throws -> Set<RecordKind> {
        var out = Set<RecordKind>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let k = RecordKind(rawValue: String(part)) else {
                throw ValidationError("invalid --events '\(text)': choose from transitions, connections, lingerers")
            }
            out.insert(k)
        }
        return out
    }
}

/// Live tracing: every transition, as text or JSON lines.
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

    @Flag(name: .customShort("4"), help: "IPv4 only (includes IPv4-mapped IPv6 sockets).")
    var ipv4Only = false

    @Flag(name: .customShort("6"), help: "IPv6 only.")
    var ipv6Only = false

    @Option(
        help: ArgumentHelp("Ports to show, either side, comma-separated (at most 8).", valueName: "list"),
        transform: { s in try parsed { () throws(ValueParseError) in try OptionValues.ports(s, max: TraceFilter.maxPortsPerList) } })
    var port: [UInt16]?

    @Option(
        help: ArgumentHelp(
            "Local ports to show (at most 8). A client's CLOSE->SYN_SENT has no local port yet unless it bound one.",
            valueName: "list"),
        transform: { s in try parsed { () throws(ValueParseError) in try OptionValues.ports(s, max: TraceFilter.maxPortsPerList) } })
    var lport: [UInt16]?

    @Option(
        help: ArgumentHelp("Remote ports to show (at most 8).", valueName: "list"),
        transform: { s in try parsed { () throws(ValueParseError) in try OptionValues.ports(s, max: TraceFilter.maxPortsPerList) } })
    var rport: [UInt16]?

    @Option(help: ArgumentHelp("Only sockets owned by this process id (the one that connected or listened).", valueName: "pid"))
    var pid: UInt32?

    @Option(help: ArgumentHelp("Only sockets owned by a process with this command name (as in /proc/PID/comm).", valueName: "name"))
    var comm: String?

    @Option(
        help: ArgumentHelp("Stop after this long: 500ms, 10s, 5m, 1h.", valueName: "duration"),
        transform: { s in try parsed { () throws(ValueParseError) in try OptionValues.duration(s) } })
    var duration: UInt64?

    @Option(
        help: ArgumentHelp("BPF ring buffer size, a power of two: 4096 to 1G, e.g. 256K, 8M.", valueName: "size"),
        transform: { s in
            try parsed { () throws(ValueParseError) in try OptionValues.byteSize(s, min: 4096, max: 1 << 30) }
        })
    var ringBufferSize: UInt64 = 8 << 20

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
        help: ArgumentHelp("Report a socket once it has been in CLOSE_WAIT this long.", valueName: "duration"),
        transform: { s in try parsed { () throws(ValueParseError) in try OptionValues.duration(s) } })
    var closeWaitThreshold: UInt64 = 30_000_000_000

    @Option(
        help: ArgumentHelp(
            "Emit a census record (sock_diag state counts) this often; 'off' to disable (default: 60s with --format json, off in text).",
            valueName: "duration"),
        transform: { s in
            s == "off" ? 0 : try parsed { () throws(ValueParseError) in try OptionValues.duration(s) }
        })
    var censusInterval: UInt64?

    @Option(help: ArgumentHelp("Most connections tracked at once; the least recently active are evicted past it.", valueName: "n"))
    var maxConnections: Int = 100_000

    @Option(
        help: ArgumentHelp(
            "Only sockets in this network namespace: its inode, a path (/run/netns/NAME, /proc/PID/ns/net), an `ip netns` name, or host.",
            valueName: "ns"))
    var netns: String?

    @Option(help: ArgumentHelp("Only sockets in this cgroup v2 directory or below it (a path under the cgroup2 mount).", valueName: "path"))
    var cgroup: String?

    @Option(help: ArgumentHelp("Only sockets of the container whose id starts with this (docker, containerd, cri-o, podman; at least 4 characters).", valueName: "id"))
    var container: String?

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

    @Flag(name: .shortAndLong, help: "Print libbpf's log (verifier messages) and the capabilities kept after attaching on standard error.")
    var verbose = false

    public init() {}

    public mutating func validate() throws {
        if ipv4Only && ipv6Only { throw ValidationError("-4 and -6 exclude each other") }
        if let comm {
            if comm.isEmpty || comm.utf8.count > 15 {
                throw ValidationError("--comm must be 1 to 15 bytes (the kernel keeps 15 of a command name)")
            }
        }
        if pid == 0 { throw ValidationError("--pid must be a process id greater than 0") }
        if let output, output.isEmpty { throw ValidationError("--output needs a file path") }
        if append && output == nil { throw ValidationError("--append needs --output") }
        if cgroup != nil && container != nil { throw ValidationError("--cgroup and --container exclude each other") }
        if let container, container.count < 4 { throw ValidationError("--container needs at least 4 characters of the id") }
        if let metricsTextfile, !metricsTextfile.hasSuffix(".prom") || metricsTextfile.hasSuffix("/.prom") {
            throw ValidationError("--metrics-textfile must name a .prom file (node_exporter's textfile collector reads only those)")
        }
        if maxConnections < 100 || maxConnections > 100_000_000 {
            throw ValidationError("--max-connections must be between 100 and 100000000")
        }
    }

    public var filter: TraceFilter {
        var f = TraceFilter()
        f.family = ipv4Only ? .ipv4 : ipv6Only ? .ipv6 : nil
        f.ports = port ?? []
        f.localPorts = lport ?? []
        f.remotePorts = rport ?? []
        f.ownerPID = pid
        f.ownerComm = comm
        return f
    }

    public func run() throws {
        let status = trace()
        if status != .success { throw ExitCode(status.rawValue) }
    }

    /// The census records' filter: the trace filter's family and ports (either side).
    var censusFilter: CensusFilter {
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
            guard let ns = NetworkNamespaces.resolve(netns, among: NetworkNamespaces.discover()) else {
                throw .notFound("--netns \(netns): no such network namespace")
            }
            namespace = ns
            f.netns = ns.inode
        }
        if let cgroup { f.cgroupSubtree = try CgroupV2.subtree(path: cgroup) }
        if let container { f.cgroupSubtree = try CgroupV2.subtree(path: try CgroupV2.container(idPrefix: container)) }
        return (f, namespace)
    }

    func tracerConfiguration(filter: TraceFilter) -> Tracer.Configuration {
        var c = Tracer.Configuration()
        c.filter = filter
        c.ringBufferBytes = ringBufferSize
        c.catchUp = catchUp
        // Transitions not printed: the kernel sends each socket's in one record (per CLOSE,
        // CLOSE_WAIT or LISTEN) instead of one record each.
        c.aggregate = !events.contains(.transitions)
        c.verbose = verbose
        return c
    }
}
