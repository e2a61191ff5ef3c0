import ArgumentParser
import TcptraceKernel
import TcptraceCore
import TcptraceHost

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

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file instead of standard output (created or truncated, never through a link; SIGHUP reopens it, for logrotate).", valueName: "path"))
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
        help: ArgumentHelp("Record types to emit, comma-separated: transitions,connections,lingerers,churn,findings (default: all but findings).", valueName: "list"),
        transform: RecordKind.parseList)
    var events: Set<RecordKind> = RecordKind.defaults

    @Flag(help: "Text: a LINGERER line per socket in CLOSE_WAIT past the threshold too, not only a LEAK line per group.")
    var leakSockets = false

    @Option(
        help: ArgumentHelp(
            "Emit census records (sock_diag state counts, one per network namespace) at the start and then this often; 'off' to disable (default: 60s with --format json, off in text).",
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

    public func run() throws {
        let status = trace()
        if status != .success { throw ExitCode(status.rawValue) }
    }

    /// The run's settings: the shared options' and this command's.
    var settings: TraceSettings {
        var s = selection.settings
        s.events = events
        s.censusInterval = censusInterval
        s.metricsAddress = metricsAddress
        s.metricsTextfile = metricsTextfile
        s.catchUp = catchUp
        s.leakSockets = leakSockets
        return s
    }
}
