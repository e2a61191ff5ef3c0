/// The Prometheus text exposition format 0.0.4, written from a `MetricsSnapshot` on each scrape:
/// nothing is registered, so a label set that is gone from the snapshot is gone from the page.
/// Every family and its labels are listed in the README's metrics section, with their bounds.
public struct PrometheusText {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The `le` label of each of `DurationHistogram.leBounds`: seconds as Prometheus writes them
    /// (`2.5e-05`, `0.001`, `1`, `3600`).
    public static let durationBoundLabels: [String] = DurationHistogram.leBounds.map { ns in
        ns % 1_000_000_000 == 0 ? String(ns / 1_000_000_000) : (Double(ns) / 1e9).description
    }

    public private(set) var text = ""

    public init() { text.reserveCapacity(32 << 10) }

    /// The whole page.
    public static func render(_ s: MetricsSnapshot, process: ProcessStats?) -> String {
        var p = PrometheusText()
        p.tracer(s)
        if let process { p.process(process) }
        return p.text
    }

    mutating func tracer(_ s: MetricsSnapshot) {
        let sum = s.summary
        if let census = s.census {
            family("tcptrace_sockets", .gauge, "TCP sockets per state now, from the latest sock_diag census (matching -4/-6/--port).")
            let total = Census.total(of: census, time: sum.end)
            for state in total.listedStates { sample("tcptrace_sockets", [("state", state.name)], UInt64(total.count(state))) }
            timeWaitDestinations(census, top: s.topTimeWait)
        }

        family("tcptrace_transitions_total", .counter, "TCP state transitions traced, by old and new state.")
        for (pair, n) in sum.transitionCounts.sorted(by: { $0.key < $1.key }) {
            sample("tcptrace_transitions_total", [("from", pair.old.name), ("to", pair.new.name)], n)
        }

        family("tcptrace_connections_closed_total", .counter, "Connections that reached CLOSE, by role and by who sent the first FIN.")
        for role in ConnectionRecord.Role.allCases {
            for closer in ConnectionRecord.Closer.allCases where sum.closed[role, closer] > 0 {
                sample("tcptrace_connections_closed_total", [("role", role.rawValue), ("closed_by", closer.rawValue)], sum.closed[role, closer])
            }
        }

        family("tcptrace_connect_duration_seconds", .histogram, "Client connect latency (SYN_SENT to ESTABLISHED).")
        histogram("tcptrace_connect_duration_seconds", [], sum.connectLatency)
        family("tcptrace_state_duration_seconds", .histogram, "Time connections spent in a state, by the state left.")
        for (state, h) in sum.measuredStates { histogram("tcptrace_state_duration_seconds", [("state", state.name)], h) }

        family("tcptrace_close_wait_lingerers", .gauge, "CLOSE_WAIT lingerers reported and still in CLOSE_WAIT, by holder command and container.")
        for (key, n) in s.lingerers.openNow.sorted(by: { $0.key < $1.key }) where n > 0 {
            sample("tcptrace_close_wait_lingerers", [("comm", key.comm), ("container", key.container)], n)
        }
        family("tcptrace_close_wait_lingerers_total", .counter, "CLOSE_WAIT lingerers reported, by holder command and container.")
        for (key, n) in s.lingerers.total.sorted(by: { $0.key < $1.key }) {
            sample("tcptrace_close_wait_lingerers_total", [("comm", key.comm), ("container", key.container)], n)
        }

        leaks(s.leaks)

        family("tcptrace_time_wait_entered_total", .counter, "Connections the kernel handed to a TIME_WAIT socket at close.")
        sample("tcptrace_time_wait_entered_total", [], sum.timeWait.total)
        if let grew = s.timeWaitOverflow {
            family("tcptrace_time_wait_overflow_total", .counter, "Growth of TcpExtTCPTimeWaitOverflow since the start (tcp_max_tw_buckets reached).")
            sample("tcptrace_time_wait_overflow_total", [], grew)
        }
        churn(sum, top: s.topTimeWait)
        family("tcptrace_retransmitted_segments_total", .counter, "Retransmissions of traced connections, read from the socket at CLOSE.")
        sample("tcptrace_retransmitted_segments_total", [], sum.closed.retransmissions)
        if let n = s.hostRetransmittedSegments {
            family("tcptrace_host_retransmitted_segments_total", .counter, "Tcp RetransSegs of the tracer's network namespace (/proc/net/snmp).")
            sample("tcptrace_host_retransmitted_segments_total", [], n)
        }

        family("tcptrace_lost_events_total", .counter, "Transitions the tracer did not deliver, by cause.")
        sample("tcptrace_lost_events_total", [("cause", "ring_buffer_full")], sum.lost.ringBufferFull)
        sample("tcptrace_lost_events_total", [("cause", "recursion")], sum.lost.recursionMisses)
        sample("tcptrace_lost_events_total", [("cause", "undecodable")], sum.lost.undecodable)
        sample("tcptrace_lost_events_total", [("cause", "unseen")], sum.lost.unseen)
        family("tcptrace_events_total", .counter, "Transitions received from the kernel.")
        sample("tcptrace_events_total", [], sum.events)
        family("tcptrace_connections_tracked", .gauge, "Connections in the tracer's table now.")
        sample("tcptrace_connections_tracked", [], UInt64(s.tracked))
        family("tcptrace_connection_table_evictions_total", .counter, "Connections dropped from the table to stay within --max-connections.")
        sample("tcptrace_connection_table_evictions_total", [], sum.tableEvictions)

        if s.programs.contains(where: { $0.runs > 0 }) {
            family("tcptrace_bpf_program_run_seconds_total", .counter, "Time the kernel program ran (kernel.bpf_stats_enabled=1 only).")
            for p in s.programs { sample("tcptrace_bpf_program_run_seconds_total", [("program", p.program)], seconds(p.runNanoseconds)) }
            family("tcptrace_bpf_program_runs_total", .counter, "Runs of the kernel program (kernel.bpf_stats_enabled=1 only).")
            for p in s.programs { sample("tcptrace_bpf_program_runs_total", [("program", p.program)], p.runs) }
        }
    }

    /// TIME_WAIT sockets now by peer, the `top` most over every namespace counted.
    mutating func timeWaitDestinations(_ census: [Census], top: Int) {
        var byPeer: [Peer: Int] = [:]
        for c in census { for p in c.topTimeWait { byPeer[p.peer, default: 0] += p.count } }
        let shown = byPeer.sorted { ($0.value, $1.key.remote.text, $1.key.remotePort ?? 0) > ($1.value, $0.key.remote.text, $0.key.remotePort ?? 0) }
            .prefix(top)
        family("tcptrace_time_wait_sockets", .gauge, "TIME_WAIT sockets now towards the busiest peers (outbound: remote address:port; inbound: our local port).")
        for (peer, n) in shown {
            let address = peer.remote.family == .ipv6 ? "[\(peer.remote.text)]" : peer.remote.text
            let remote = peer.remotePort.map { "\(address):\($0)" } ?? address
            sample("tcptrace_time_wait_sockets", [("remote", remote), ("local_port", peer.localPort.map(String.init) ?? "")], UInt64(n))
        }
    }

    mutating func process(_ p: ProcessStats) {
        family("process_cpu_seconds_total", .counter, "Total user and system CPU time spent in seconds.")
        sample("process_cpu_seconds_total", [], p.cpuSeconds)
        family("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.")
        sample("process_resident_memory_bytes", [], p.residentBytes)
        family("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.")
        sample("process_virtual_memory_bytes", [], p.virtualBytes)
        family("process_start_time_seconds", .gauge, "Start time of the process since unix epoch in seconds.")
        sample("process_start_time_seconds", [], p.startTimeSeconds)
        if let n = p.openFDs {
            family("process_open_fds", .gauge, "Number of open file descriptors.")
            sample("process_open_fds", [], n)
        }
        if let n = p.maxFDs {
            family("process_max_fds", .gauge, "Maximum number of open file descriptors.")
            sample("process_max_fds", [], n)
        }
    }

    // MARK: - The format

    enum Kind: String { case counter, gauge, histogram }

    mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) "
        for ch in help.unicodeScalars {
            switch ch {
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            default: text.unicodeScalars.append(ch)
            }
        }
        text += "\n# TYPE \(name) \(kind.rawValue)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: UInt64) {
        sample(name, labels, value: String(value))
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        sample(name, labels, value: Self.format(value))
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], value: String) {
        text += name
        if !labels.isEmpty {
            text += "{"
            for (i, (label, v)) in labels.enumerated() {
                if i > 0 { text += "," }
                text += label
                text += "=\""
                Self.appendEscaped(v, to: &text)
                text += "\""
            }
            text += "}"
        }
        text += " "
        text += value
        text += "\n"
    }

    /// Cumulative `le` buckets over `DurationHistogram.leBounds`, then `+Inf`, `_sum` (seconds) and `_count`.
    mutating func histogram(_ name: String, _ labels: [(String, String)], _ h: DurationHistogram) {
        for (bound, n) in zip(Self.durationBoundLabels, h.cumulativeCountsAtLEBounds) { sample(name + "_bucket", labels + [("le", bound)], n) }
        sample(name + "_bucket", labels + [("le", "+Inf")], h.count)
        sample(name + "_sum", labels, seconds(h.sum))
        sample(name + "_count", labels, h.count)
    }

    func seconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e9 }

    /// Label values escape backslash, double quote and line feed.
    static func appendEscaped(_ v: String, to out: inout String) {
        for ch in v.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
    }

    /// A float as Prometheus reads it: `+Inf`, `-Inf`, `NaN`, else Swift's shortest round-trip text.
    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        return v.description
    }
}
