/// The Prometheus text exposition format 0.0.4, written from a `MetricsSnapshot` on each scrape:
/// nothing is registered, so a label set that is gone from the snapshot is gone from the page.
/// Every family is declared once (`MetricFamily`): its name, type, labels and help here, and the
/// README's metrics table, with the bounds.
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
        typealias F = MetricFamily
        let sum = s.summary
        if let census = s.census {
            family(F.sockets)
            let total = Census.total(of: census, time: sum.end)
            for state in total.listedStates { sample(F.sockets, [state.name], UInt64(total.count(state))) }
            timeWaitDestinations(census, top: s.topTimeWait)
        }

        family(F.transitionsTotal)
        for (pair, n) in sum.transitionCounts.sorted(by: { $0.key < $1.key }) {
            sample(F.transitionsTotal, [pair.old.name, pair.new.name], n)
        }

        family(F.connectionsClosedTotal)
        for role in ConnectionRecord.Role.allCases {
            for closer in ConnectionRecord.Closer.allCases where sum.closed[role, closer] > 0 {
                sample(F.connectionsClosedTotal, [role.rawValue, closer.rawValue], sum.closed[role, closer])
            }
        }

        family(F.connectDurationSeconds)
        histogram(F.connectDurationSeconds, [], sum.connectLatency)
        family(F.stateDurationSeconds)
        for (state, h) in sum.measuredStates { histogram(F.stateDurationSeconds, [state.name], h) }

        family(F.closeWaitLingerers)
        for (key, n) in s.lingerers.openNow.sorted(by: { $0.key < $1.key }) where n > 0 {
            sample(F.closeWaitLingerers, [key.comm, key.container], n)
        }
        family(F.closeWaitLingerersTotal)
        for (key, n) in s.lingerers.total.sorted(by: { $0.key < $1.key }) {
            sample(F.closeWaitLingerersTotal, [key.comm, key.container], n)
        }

        leaks(s.leaks)

        family(F.timeWaitEnteredTotal)
        sample(F.timeWaitEnteredTotal, [], sum.timeWait.total)
        if let grew = s.timeWaitOverflow {
            family(F.timeWaitOverflowTotal)
            sample(F.timeWaitOverflowTotal, [], grew)
        }
        churn(sum, top: s.topTimeWait)
        family(F.retransmittedSegmentsTotal)
        sample(F.retransmittedSegmentsTotal, [], sum.closed.retransmissions)
        if let n = s.hostRetransmittedSegments {
            family(F.hostRetransmittedSegmentsTotal)
            sample(F.hostRetransmittedSegmentsTotal, [], n)
        }

        if let findings = s.findings {
            family(F.findings)
            for kind in FindingKind.allCases {
                for severity in FindingSeverity.allCases {
                    sample(F.findings, [kind.rawValue, severity.rawValue], UInt64(findings[kind]?[severity] ?? 0))
                }
            }
        }
        family(F.lostEventsTotal)
        sample(F.lostEventsTotal, ["ring_buffer_full"], sum.lost.ringBufferFull)
        sample(F.lostEventsTotal, ["recursion"], sum.lost.recursionMisses)
        sample(F.lostEventsTotal, ["undecodable"], sum.lost.undecodable)
        sample(F.lostEventsTotal, ["unseen"], sum.lost.unseen)
        family(F.eventsTotal)
        sample(F.eventsTotal, [], sum.events)
        family(F.connectionsTracked)
        sample(F.connectionsTracked, [], UInt64(s.tracked))
        family(F.connectionTableEvictionsTotal)
        sample(F.connectionTableEvictionsTotal, [], sum.tableEvictions)

        if s.programs.contains(where: { $0.runs > 0 }) {
            family(F.bpfProgramRunSecondsTotal)
            for p in s.programs { sample(F.bpfProgramRunSecondsTotal, [p.program], seconds(p.runNanoseconds)) }
            family(F.bpfProgramRunsTotal)
            for p in s.programs { sample(F.bpfProgramRunsTotal, [p.program], p.runs) }
        }
    }

    /// TIME_WAIT sockets now by peer, the `top` most over every namespace counted.
    mutating func timeWaitDestinations(_ census: [Census], top: Int) {
        var byPeer: [Peer: Int] = [:]
        for c in census { for p in c.topTimeWait { byPeer[p.peer, default: 0] += p.count } }
        let shown = byPeer.sorted { ($0.value, $1.key.remote.text, $1.key.remotePort ?? 0) > ($1.value, $0.key.remote.text, $0.key.remotePort ?? 0) }
            .prefix(top)
        family(MetricFamily.timeWaitSockets)
        for (peer, n) in shown {
            let address = peer.remote.family == .ipv6 ? "[\(peer.remote.text)]" : peer.remote.text
            let remote = peer.remotePort.map { "\(address):\($0)" } ?? address
            sample(MetricFamily.timeWaitSockets, [remote, peer.localPort.map(String.init) ?? ""], UInt64(n))
        }
    }

    mutating func process(_ p: ProcessStats) {
        typealias F = MetricFamily
        family(F.processCpuSecondsTotal)
        sample(F.processCpuSecondsTotal, [], p.cpuSeconds)
        family(F.processResidentMemoryBytes)
        sample(F.processResidentMemoryBytes, [], p.residentBytes)
        family(F.processVirtualMemoryBytes)
        sample(F.processVirtualMemoryBytes, [], p.virtualBytes)
        family(F.processStartTimeSeconds)
        sample(F.processStartTimeSeconds, [], p.startTimeSeconds)
        if let n = p.openFDs {
            family(F.processOpenFds)
            sample(F.processOpenFds, [], n)
        }
        if let n = p.maxFDs {
            family(F.processMaxFds)
            sample(F.processMaxFds, [], n)
        }
    }

    /// `# HELP` and `# TYPE` of a declared family.
    mutating func family(_ f: MetricFamily) { family(f.name, f.kind, f.help) }

    /// A sample of a declared family: one value per declared label.
    mutating func sample(_ f: MetricFamily, _ values: [String], _ value: UInt64) {
        sample(f.name, Self.labels(f, values), value: String(value))
    }

    mutating func sample(_ f: MetricFamily, _ values: [String], _ value: Double) {
        sample(f.name, Self.labels(f, values), value: Self.format(value))
    }

    mutating func histogram(_ f: MetricFamily, _ values: [String], _ h: DurationHistogram) {
        histogram(f.name, Self.labels(f, values), h)
    }

    static func labels(_ f: MetricFamily, _ values: [String]) -> [(String, String)] {
        precondition(values.count == f.labels.count, "\(f.name) takes \(f.labels)")
        return Array(zip(f.labels, values))
    }

    // MARK: - The format

    typealias Kind = MetricFamily.Kind

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
