/// Every metric family of the page, declared once: its name, type, labels and help drive the
/// page (`PrometheusText`), and its label documentation, worst-case series and meaning drive the
/// README's metrics table (MetricFamilyTests keeps the table and the worst-case total current).
public struct MetricFamily: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }
    public let name: String
    public let kind: Kind
    /// Label names, in the order samples give their values (`le` of histograms is added).
    public let labels: [String]
    /// The `# HELP` text.
    public let help: String
    /// For the README: the labels and their values, the most series the family can have (and
    /// how), and what it counts.
    public let labelsDoc: String
    public let series: Int
    public let seriesNote: String
    public let meaning: String

    init(
        _ name: String, _ kind: Kind, labels: [String], help: String, labelsDoc: String = "", series: Int = 1,
        seriesNote: String = "", meaning: String = ""
    ) {
        (self.name, self.kind, self.labels, self.help) = (name, kind, labels, help)
        (self.labelsDoc, self.series, self.seriesNote, self.meaning) = (labelsDoc, series, seriesNote, meaning)
    }
}

extension MetricFamily {
    public static let sockets = MetricFamily(
        "tcptrace_sockets", .gauge, labels: ["state"], help: "TCP sockets per state now, from the latest sock_diag census (matching -4/-6/--port).",
        labelsDoc: "`state`", series: 13,
        meaning: "TCP sockets per state now, from a sock_diag census every 5 s over the namespaces the run covers, matching `-4`/`-6`/`--port` (TIME_WAIT included); absent until the first census")
    public static let timeWaitSockets = MetricFamily(
        "tcptrace_time_wait_sockets", .gauge, labels: ["remote", "local_port"], help: "TIME_WAIT sockets now towards the busiest peers (outbound: remote address:port; inbound: our local port).",
        labelsDoc: "`remote`, `local_port`", series: 10,
        meaning: "TIME_WAIT sockets now towards the 10 busiest peers (outbound: `remote=\"10.0.0.7:443\"`, `local_port=\"\"`; inbound: `remote=\"10.0.0.7\"`, `local_port=\"8080\"`), from the same census (each namespace's top 10, merged)")
    public static let transitionsTotal = MetricFamily(
        "tcptrace_transitions_total", .counter, labels: ["from", "to"], help: "TCP state transitions traced, by old and new state.",
        labelsDoc: "`from`, `to`", series: 169, seriesNote: "(13 × 13 states; about 20 pairs occur)",
        meaning: "traced transitions")
    public static let connectionsClosedTotal = MetricFamily(
        "tcptrace_connections_closed_total", .counter, labels: ["role", "closed_by"], help: "Connections that reached CLOSE, by role and by who sent the first FIN.",
        labelsDoc: "`role` (client, server, listener, unknown), `closed_by` (local, remote, reset, unknown)", series: 16,
        meaning: "connection records; pairs never seen are left out")
    public static let connectDurationSeconds = MetricFamily(
        "tcptrace_connect_duration_seconds", .histogram, labels: [], help: "Client connect latency (SYN_SENT to ESTABLISHED).",
        labelsDoc: "`le`", series: 26,
        meaning: "client `SYN_SENT -> ESTABLISHED`")
    public static let stateDurationSeconds = MetricFamily(
        "tcptrace_state_duration_seconds", .histogram, labels: ["state"], help: "Time connections spent in a state, by the state left.",
        labelsDoc: "`state`, `le`", series: 338, seriesNote: "(13 states × 26)",
        meaning: "time in the state left, for transitions that knew it")
    public static let closeWaitLingerers = MetricFamily(
        "tcptrace_close_wait_lingerers", .gauge, labels: ["comm", "container"], help: "CLOSE_WAIT lingerers reported and still in CLOSE_WAIT, by holder command and container.",
        labelsDoc: "`comm`, `container`", series: 21,
        meaning: "lingerers reported and not yet seen leaving CLOSE_WAIT, by holder command name and container")
    public static let closeWaitLingerersTotal = MetricFamily(
        "tcptrace_close_wait_lingerers_total", .counter, labels: ["comm", "container"], help: "CLOSE_WAIT lingerers reported, by holder command and container.",
        labelsDoc: "`comm`, `container`", series: 21,
        meaning: "lingerers reported")
    public static let closeWaitLeakSockets = MetricFamily(
        "tcptrace_close_wait_leak_sockets", .gauge, labels: ["comm", "container"], help: "Sockets in CLOSE_WAIT leak groups now, by holder command and container (top 10, the rest as comm=\"other\").",
        labelsDoc: "`comm`, `container`", series: 11,
        meaning: "sockets in CLOSE_WAIT leak groups now, by holder (the 10 holders with most; the rest summed as `comm=\"other\"`)")
    public static let closeWaitLeakOldestSeconds = MetricFamily(
        "tcptrace_close_wait_leak_oldest_seconds", .gauge, labels: ["comm", "container"], help: "Age of the oldest socket in the holder's CLOSE_WAIT leak groups.",
        labelsDoc: "`comm`, `container`", series: 11,
        meaning: "age of the oldest socket in those groups, same holders")
    public static let closeWaitLeakSocketsByCause = MetricFamily(
        "tcptrace_close_wait_leak_sockets_by_cause", .gauge, labels: ["cause"], help: "Sockets in CLOSE_WAIT leak groups now, by cause (not_accepted, unread, not_closed).",
        labelsDoc: "`cause`", series: 3,
        meaning: "sockets in leak groups now by cause: `not_accepted`, `unread`, `not_closed`")
    public static let timeWaitEnteredTotal = MetricFamily(
        "tcptrace_time_wait_entered_total", .counter, labels: [], help: "Connections the kernel handed to a TIME_WAIT socket at close.",
        labelsDoc: "—", series: 1,
        meaning: "connections handed to a timewait socket at close (inferred from the close path)")
    public static let failedConnectsTotal = MetricFamily(
        "tcptrace_failed_connects_total", .counter, labels: ["reason"], help: "connect() calls that failed, by the errno the application got.",
        labelsDoc: "`reason` (EADDRNOTAVAIL, ECONNREFUSED, ETIMEDOUT always; EHOSTUNREACH, ENETUNREACH, ECONNRESET, EPERM, other once seen)", series: 8,
        meaning: "failed connect() calls, exact: one per `connection` record with `connect_error`")
    public static let portPressureWarningsTotal = MetricFamily(
        "tcptrace_port_pressure_warnings_total", .counter, labels: [], help: "port_pressure records written (50 %, 80 % or a forecast under 60 s).",
        labelsDoc: "—", series: 1, meaning: "`port_pressure` records written")
    public static let localPortUseRatio = MetricFamily(
        "tcptrace_local_port_use_ratio", .gauge, labels: ["netns", "laddr", "raddr", "rport"],
        help: "Local ports held towards a destination (timewait sockets of the last 60 s) over the usable ports, for the most used destinations.",
        labelsDoc: "`netns`, `laddr`, `raddr`, `rport`", series: 10,
        meaning: "local ports held towards a destination (timewait sockets its clients made in the last 60 s, 1 s when `tcp_tw_reuse` applies) over its namespace's usable ports, for the 10 most used destinations active in the last 60 s")
    public static let localPortExhaustionForecastSeconds = MetricFamily(
        "tcptrace_local_port_exhaustion_forecast_seconds", .gauge, labels: ["netns", "laddr", "raddr", "rport"],
        help: "Seconds until a destination's local ports are used up at the current rate (only where the steady state exceeds them).",
        labelsDoc: "`netns`, `laddr`, `raddr`, `rport`", series: 10,
        meaning: "seconds until those ports are used up at the current rate; only where the steady state exceeds them")
    public static let timeWaitMadeAlive = MetricFamily(
        "tcptrace_time_wait_made_alive", .gauge, labels: ["comm", "remote"],
        help: "Timewait sockets made in the last 60 s, by the command that made them and destination (the top makers).",
        labelsDoc: "`comm`, `remote`", series: 10,
        meaning: "timewait sockets made in the last 60 s by the 10 top makers (command name, destination; `other` for the rest)")
    public static let timeWaitOverflowTotal = MetricFamily(
        "tcptrace_time_wait_overflow_total", .counter, labels: [], help: "Growth of TcpExtTCPTimeWaitOverflow since the start (tcp_max_tw_buckets reached).",
        labelsDoc: "—", series: 1,
        meaning: "growth of `TcpExtTCPTimeWaitOverflow` since the start, tracer's network namespace")
    public static let retransmittedSegmentsTotal = MetricFamily(
        "tcptrace_retransmitted_segments_total", .counter, labels: [], help: "Retransmissions of traced connections, read from the socket at CLOSE.",
        labelsDoc: "—", series: 1,
        meaning: "retransmissions of traced connections (`tcp_sock.total_retrans`, read by the kernel program at CLOSE: a connection counts when it closes)")
    public static let hostRetransmittedSegmentsTotal = MetricFamily(
        "tcptrace_host_retransmitted_segments_total", .counter, labels: [], help: "Tcp RetransSegs of the tracer's network namespace (/proc/net/snmp).",
        labelsDoc: "—", series: 1,
        meaning: "`Tcp: RetransSegs` from `/proc/net/snmp` of the tracer's network namespace (the host's when run on the host; containers' namespaces not included), not since the start")
    public static let findings = MetricFamily(
        "tcptrace_findings", .gauge, labels: ["kind", "severity"], help: "Open findings (diagnose's verdicts), by kind and severity.",
        labelsDoc: "`kind`, `severity`", series: 36, seriesNote: "(12 kinds × 3)",
        meaning: "open findings (see [diagnose](#diagnose-what-is-wrong-on-this-host-with-the-evidence-and-the-fix)), evaluated every 10 s; every pair written, 0 when none")
    public static let lostEventsTotal = MetricFamily(
        "tcptrace_lost_events_total", .counter, labels: ["cause"], help: "Transitions the tracer did not deliver, by cause.",
        labelsDoc: "`cause` (ring_buffer_full, recursion, undecodable, unseen)", series: 4,
        meaning: "as in the summary's `lost`")
    public static let eventsTotal = MetricFamily(
        "tcptrace_events_total", .counter, labels: [], help: "Transitions received from the kernel.",
        labelsDoc: "—", series: 1,
        meaning: "transitions received")
    public static let connectionsTracked = MetricFamily(
        "tcptrace_connections_tracked", .gauge, labels: [], help: "Connections in the tracer's table now.",
        labelsDoc: "—", series: 1,
        meaning: "connection-table entries now")
    public static let connectionTableEvictionsTotal = MetricFamily(
        "tcptrace_connection_table_evictions_total", .counter, labels: [], help: "Connections dropped from the table to stay within --max-connections.",
        labelsDoc: "—", series: 1,
        meaning: "entries evicted past `--max-connections`")
    public static let bpfProgramRunSecondsTotal = MetricFamily(
        "tcptrace_bpf_program_run_seconds_total", .counter, labels: ["program"], help: "Time the kernel program ran (kernel.bpf_stats_enabled=1 only).",
        labelsDoc: "`program` (handle_set_state, handle_nested)", series: 2,
        meaning: "`bpf_prog_info.run_time_ns`; present only once a program has a run counted, i.e. with `sysctl kernel.bpf_stats_enabled=1`")
    public static let bpfProgramRunsTotal = MetricFamily(
        "tcptrace_bpf_program_runs_total", .counter, labels: ["program"], help: "Runs of the kernel program (kernel.bpf_stats_enabled=1 only).",
        labelsDoc: "`program`", series: 2,
        meaning: "`bpf_prog_info.run_cnt`, same condition")
    public static let processCpuSecondsTotal = MetricFamily("process_cpu_seconds_total", .counter, labels: [], help: "Total user and system CPU time spent in seconds.")
    public static let processResidentMemoryBytes = MetricFamily("process_resident_memory_bytes", .gauge, labels: [], help: "Resident memory size in bytes.")
    public static let processVirtualMemoryBytes = MetricFamily("process_virtual_memory_bytes", .gauge, labels: [], help: "Virtual memory size in bytes.")
    public static let processStartTimeSeconds = MetricFamily("process_start_time_seconds", .gauge, labels: [], help: "Start time of the process since unix epoch in seconds.")
    public static let processOpenFds = MetricFamily("process_open_fds", .gauge, labels: [], help: "Number of open file descriptors.")
    public static let processMaxFds = MetricFamily("process_max_fds", .gauge, labels: [], help: "Maximum number of open file descriptors.")

    /// The tracer's families, in page order.
    public static let tracer: [MetricFamily] = [
        sockets, timeWaitSockets, transitionsTotal, connectionsClosedTotal, connectDurationSeconds, stateDurationSeconds,
        closeWaitLingerers, closeWaitLingerersTotal, closeWaitLeakSockets, closeWaitLeakOldestSeconds,
        closeWaitLeakSocketsByCause, timeWaitEnteredTotal, failedConnectsTotal, portPressureWarningsTotal,
        localPortUseRatio, localPortExhaustionForecastSeconds, timeWaitMadeAlive, timeWaitOverflowTotal, retransmittedSegmentsTotal,
        hostRetransmittedSegmentsTotal, findings, lostEventsTotal, eventsTotal, connectionsTracked, connectionTableEvictionsTotal,
        bpfProgramRunSecondsTotal, bpfProgramRunsTotal,
    ]
    /// The process families every Prometheus client library exports.
    public static let process: [MetricFamily] = [
        processCpuSecondsTotal, processResidentMemoryBytes, processVirtualMemoryBytes, processStartTimeSeconds, processOpenFds,
        processMaxFds,
    ]

    /// The README's metrics table.
    public static var markdown: String {
        var out = "| metric | type | labels | worst-case series | source |\n|---|---|---|---|---|\n"
        for f in tracer {
            let series = f.seriesNote.isEmpty ? "\(f.series)" : "\(f.series) \(f.seriesNote)"
            out += "| `\(f.name)` | \(f.kind.rawValue) | \(f.labelsDoc) | \(series) | \(f.meaning) |\n"
        }
        out += "| " + process.map { "`\($0.name)`" }.joined(separator: ", ")
            + " | counter, gauges | — | \(process.count) | `/proc/self/stat`, `/proc/stat` `btime`, `/proc/self/fd`, `RLIMIT_NOFILE`, read at each scrape |\n"
        return out
    }

    /// The most series one tracer's page can have, all families together.
    public static var worstCaseSeries: Int { (tracer + process).reduce(0) { $0 + $1.series } }
}
