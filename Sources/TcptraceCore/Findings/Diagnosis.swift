/// The analyzers: evidence in, findings out. Pure: no clock but `evidence.now`, no I/O; the
/// live run, the replay and the tests call it alike. Findings with the same id (kind and
/// subject) from several sources are merged: the worse severity, all the evidence.
public enum Diagnosis {
    static let ipSysctl = "Documentation/networking/ip-sysctl.rst"
    /// Kinds a recorded log cannot derive (host counters and sysctls): `report` carries the
    /// recorded `finding` records of these kinds over.
    public static let hostOnlyKinds: Set<FindingKind> = [.sysctl, .listenOverflow, .timeWaitOverflow, .evidenceMissing]

    public static func findings(_ e: DiagnosisEvidence, thresholds t: FindingThresholds = FindingThresholds()) -> [Finding] {
        var out: [String: Finding] = [:]
        func add(_ f: Finding) {
            if var old = out[f.id] {
                old.severity = max(old.severity, f.severity)
                if f.severity > out[f.id]!.severity {
                    old.title = f.title
                    old.advice = f.advice
                    old.fact = f.fact
                    old.evidence = f.evidence + old.evidence.filter { o in !f.evidence.contains { $0.name == o.name } }
                } else {
                    old.evidence += f.evidence.filter { n in !old.evidence.contains { $0.name == n.name } }
                }
                old.firstSeen = min(old.firstSeen, f.firstSeen)
                old.lastSeen = max(old.lastSeen, f.lastSeen)
                out[f.id] = old
            } else {
                out[f.id] = f
            }
        }
        leaks(e, t).forEach(add)
        closeWaitCensus(e, t, leaking: Set(out.values.filter { $0.kind == .closeWaitLeak }.compactMap(\.subject.netns))).forEach(add)
        timeWait(e, t).forEach(add)
        failedConnects(e, t).forEach(add)
        peers(e, t).forEach(add)
        lost(e, t).forEach(add)
        listenQueues(e, t).forEach(add)
        host(e, t).forEach(add)
        for f in e.recorded.values where out[f.id] == nil { add(f) }
        return Finding.ranked(Array(out.values))
    }

    static func ev(_ name: String, _ v: Double, _ unit: String, _ source: String) -> FindingEvidence {
        FindingEvidence(name, v, unit, source: source)
    }

    static func seconds(_ a: WallTime, _ b: WallTime) -> Double { Double(max(0, b.nanoseconds - a.nanoseconds)) / 1e9 }

    // MARK: CLOSE_WAIT

    static func leaks(_ e: DiagnosisEvidence, _ t: FindingThresholds) -> [Finding] {
        e.holders.values.compactMap { h -> Finding? in
            guard !h.open.isEmpty || h.groupSockets > 0 else { return nil }
            if h.owner.pid == 0 && e.hasLeakGroups && h.groupSockets == 0 { return nil }
            let oldest = [h.open.values.min(), h.groupOldest].compactMap { $0 }.min()!
            let age = seconds(oldest, e.now)
            let n = Double(max(UInt64(h.open.count), h.groupSockets))
            let severity: FindingSeverity = n >= t.leakCriticalSockets || age >= t.leakCriticalAgeSeconds ? .critical : .warning
            let who = h.owner.pid == 0 ? "an unknown process" : "\(h.owner.comm) (pid \(h.owner.pid))"
            let ports = h.localPorts.sorted { $0.value > $1.value }.prefix(3).map { "\($0.key)" }.joined(separator: ", ")
            var evidence = [
                ev("close_wait_sockets", n, "sockets", "lingerer records: in CLOSE_WAIT past the threshold, still open"),
                ev("oldest_age", age, "s", h.openLowerBound.isEmpty ? "lingerer records" : "lingerer records (at least: found by the start-up census)"),
                ev("leaked_in_all", Double(h.reported), "sockets", "lingerer records"),
                ev("closed_late", Double(h.closed), "sockets", "lingerer records: left CLOSE_WAIT after the threshold"),
                ev("unread", Double(h.unread), "bytes", "lingerer records: received, never read"),
            ]
            if h.groupSockets > 0 {
                evidence.append(ev("in_leak_groups", Double(h.groupSockets), "sockets", "leak records: groups by holder, endpoint, cause, opener"))
                evidence.append(ev("new_per_min", Double(h.growingPerMinute), "per_min", "leak records"))
            }
            if age > 0 && h.reported > 1 {
                evidence.append(ev("leak_rate", Double(h.reported) / max(1, seconds(h.first, e.now)) * 60, "per_min", "lingerer records"))
            }
            var title = "\(who) leaks sockets in CLOSE_WAIT: \(Int(n)) open, oldest \(Int(age)) s"
            if !h.groupEndpoints.isEmpty {
                title += " (\(h.groupEndpoints.joined(separator: ", ")))"
            } else if !ports.isEmpty {
                title += ", local port \(ports)"
            }
            if h.causes.count > 1 {
                title += "; causes: " + h.causes.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            } else if let c = h.cause {
                title += "; cause: \(c)"
            }
            if let o = h.opener { title += "; opened at \(o)" }
            return Finding(
                id: "close_wait_leak/pid:\(h.owner.pid)", kind: .closeWaitLeak, severity: severity,
                subject: FindingSubject(
                    kind: h.container != nil ? .container : .process, name: who, pid: h.owner.pid, netns: h.netns, container: h.container),
                title: title, evidence: evidence,
                advice:
                    "fix \(h.owner.comm) to close() the socket when read() returns 0 (the peer's FIN)\(h.opener.map { "; the socket was opened at \($0)" } ?? ""); until then, restarting it frees the sockets. No sysctl ends CLOSE_WAIT",
                fact:
                    "CLOSE_WAIT means the peer closed and this application has not: the kernel keeps the socket and its port until close() (RFC 9293 3.3.2); no timer ends it [\(ipSysctl): no sysctl bounds CLOSE_WAIT]",
                firstSeen: h.first, lastSeen: h.last)
        }
    }

    static func closeWaitCensus(_ e: DiagnosisEvidence, _ t: FindingThresholds, leaking: Set<UInt32>) -> [Finding] {
        var out: [Finding] = []
        for (netns, c) in e.census where c.count(.closeWait) > 0 {
            if let netns, leaking.contains(netns) { continue }
            let n = Double(c.count(.closeWait))
            let name = namespaceName(netns, c.netnsName)
            let top = c.topCloseWait.first.map { p in
                " (most: \(p.count) from \(p.peer.remote.text)\(p.peer.localPort.map { " on local port \($0)" } ?? ""))"
            } ?? ""
            out.append(
                Finding(
                    id: "close_wait_sockets/netns:\(netns.map(String.init) ?? "?")", kind: .closeWaitSockets,
                    severity: n >= t.closeWaitSocketsWarning ? .warning : .info,
                    subject: FindingSubject(kind: .namespace, name: name, netns: netns),
                    title: "\(Int(n)) sockets in CLOSE_WAIT in \(name)\(top), none held past the lingerer threshold",
                    evidence: [ev("close_wait_sockets", n, "sockets", "sock_diag census")],
                    advice: "if the count stays, run `tcptrace-bpf` long enough for the lingerer threshold to name the holder, or `ss -tp state close-wait`",
                    fact: "CLOSE_WAIT lasts until the application closes the socket; a short stay is normal between the peer's FIN and close()",
                    firstSeen: c.time, lastSeen: c.time))
        }
        return out
    }

    static func namespaceName(_ netns: UInt32?, _ name: String?) -> String {
        guard let netns else { return "the host" }
        if name == "host" { return "the host's namespace (\(netns))" }
        return "network namespace \(netns)\(name.map { " (\($0))" } ?? "")"
    }

    // MARK: TIME_WAIT and local ports

    static let timeWaitFact =
        "a connection closed first by this side holds its local port in TIME_WAIT for 60 s (TCP_TIMEWAIT_LEN, fixed; tcp_fin_timeout does not shorten it); connect() to one destination from one source address fails with EADDRNOTAVAIL once every port of ip_local_port_range is held; tcp_tw_reuse=1 lets connect() take a TIME_WAIT port when timestamps make it safe [\(ipSysctl): tcp_tw_reuse, ip_local_port_range; include/net/tcp.h: TCP_TIMEWAIT_LEN]"

    static func destinationID(_ p: DiagnosisEvidence.Peer) -> String {
        "time_wait_pressure/netns:\(p.netns.map(String.init) ?? "?")/\(p.text)"
    }

    static func portAdvice(_ maker: Owner?, reuse: Int?, usable: Int?) -> String {
        var steps = ["reuse connections (pooling, keep-alive): each connection this side closes holds its local port 60 s"]
        if reuse != 1 {
            steps.append("set net.ipv4.tcp_tw_reuse=1 (now \(reuse.map(String.init) ?? "unknown")\(reuse == 2 ? ": loopback only" : "")) with tcp_timestamps=1")
        }
        steps.append("widen net.ipv4.ip_local_port_range\(usable.map { " (\($0) ports now)" } ?? "")")
        steps.append("spread over more destination addresses or ports")
        steps.append("never tcp_tw_recycle (removed in 4.12) nor a lower tcp_fin_timeout (it is not TIME_WAIT)")
        return (maker.map { "\($0.comm) (pid \($0.pid)): " } ?? "") + steps.joined(separator: "; ")
    }

    static func timeWait(_ e: DiagnosisEvidence, _ t: FindingThresholds) -> [Finding] {
        var out: [Finding] = []
        // The host's setting; the TIME_WAIT tracker's advice, when there, has the namespace's own.
        let reuse = e.sysctls?.tcpTwReuse
        // The tracer's count of TIME_WAIT made, per destination, with its maker.
        for (p, s) in e.peers where s.timeWait > 0 && p.localPort == 0 {
            let span = max(1, seconds(s.first, s.last), seconds(e.start ?? s.first, e.now))
            let rate = Double(s.timeWait) / span
            let noPort = Double(s.failedConnects["EADDRNOTAVAIL"] ?? 0)
            guard rate >= t.timeWaitRateInfo || noPort > 0 else { continue }
            let maker = s.topMaker
            let who = maker.map { "\($0.owner.comm) (pid \($0.owner.pid))" } ?? "unknown processes"
            var evidence = [
                ev("time_wait_per_s", rate, "per_s", "connection records closed into TIME_WAIT"),
                ev("time_wait_made", Double(s.timeWait), "count", "connection records"),
            ]
            if let m = maker { evidence.append(ev("by_maker", Double(m.count), "count", "connection records: \(m.owner.comm) (pid \(m.owner.pid))")) }
            if noPort > 0 { evidence.append(ev("failed_eaddrnotavail", noPort, "count", "connection records: connect_error")) }
            out.append(
                Finding(
                    id: destinationID(p), kind: .timeWaitPressure, severity: noPort > 0 ? .critical : .info,
                    subject: FindingSubject(kind: .destination, name: p.text, pid: maker?.owner.pid, netns: p.netns),
                    title: noPort > 0
                        ? "connects to \(p.text) fail for want of a local port (EADDRNOTAVAIL ×\(Int(noPort))); \(who) makes \(Int(rate)) TIME_WAIT/s there"
                        : "\(who) makes \(Int(rate)) TIME_WAIT/s towards \(p.text)",
                    evidence: evidence, advice: e.portReadings[p]?.advice ?? portAdvice(maker?.owner, reuse: reuse, usable: nil),
                    fact: timeWaitFact, firstSeen: s.first, lastSeen: s.last))
        }
        // The census: local ports held per destination (TIME_WAIT and open) against the range.
        for (netns, c) in e.census {
            for x in c.exhaustion {
                let p = DiagnosisEvidence.Peer(netns: netns, remote: x.remote, remotePort: x.remotePort, localPort: 0)
                let use = x.usePercent
                let severity: FindingSeverity
                if use >= t.portUseCriticalPercent { severity = .critical } else if use >= t.portUseWarningPercent { severity = .warning } else { continue }
                let maker = e.peers[p]?.topMaker
                let who = maker.map { " (made by \($0.owner.comm), pid \($0.owner.pid))" } ?? ""
                out.append(
                    Finding(
                        id: destinationID(p), kind: .timeWaitPressure, severity: severity,
                        subject: FindingSubject(kind: .destination, name: p.text, pid: maker?.owner.pid, netns: netns),
                        title: "local ports towards \(p.text): \(x.maxPerLocalAddress) of \(x.portRange.size) held (\(x.timeWait) in TIME_WAIT, \(x.open) open) (\(Int(use)) %)\(who)",
                        evidence: [
                            ev("port_use", use, "%", "sock_diag census: outbound sockets (any state) per source address / ip_local_port_range"),
                            ev("time_wait_sockets", Double(x.timeWait), "sockets", "sock_diag census"),
                            ev("open_sockets", Double(x.open), "sockets", "sock_diag census: outbound, not TIME_WAIT"),
                            ev("usable_ports", Double(x.portRange.size), "count", "ip_local_port_range"),
                        ],
                        advice: e.portReadings[p]?.advice ?? portAdvice(maker?.owner, reuse: reuse, usable: Int(x.portRange.size)),
                        fact: timeWaitFact,
                        firstSeen: c.time, lastSeen: c.time))
            }
        }
        // The TIME_WAIT tracker's readings (rate, held ports, forecast), when the run has them.
        for r in e.portReadings.values {
            var severity: FindingSeverity = .info
            if r.usePercent >= t.portUseWarningPercent { severity = .warning }
            if r.usePercent >= t.portUseCriticalPercent { severity = .critical }
            if let f = r.forecastSeconds, f < t.portForecastCriticalSeconds { severity = .critical }
            guard severity > .info || r.connectsPerSecond >= t.timeWaitRateInfo else { continue }
            let maker = e.peers[r.peer]?.topMaker
            var evidence = [
                ev("port_use", r.usePercent, "%", "TIME_WAIT tracker: ports held by this destination's timewait sockets / usable ports"),
                ev("ports_held", Double(r.held), "count", "TIME_WAIT tracker"),
                ev("usable_ports", Double(r.usable), "count", "ip_local_port_range less ip_local_reserved_ports"),
                ev("connects_per_s", r.connectsPerSecond, "per_s", "TIME_WAIT tracker (last 10 s)"),
            ]
            if let f = r.forecastSeconds { evidence.append(ev("exhausted_in", f, "s", "TIME_WAIT tracker: forecast at the current rate")) }
            out.append(
                Finding(
                    id: destinationID(r.peer), kind: .timeWaitPressure, severity: severity,
                    subject: FindingSubject(kind: .destination, name: r.peer.text, pid: maker?.owner.pid, netns: r.peer.netns),
                    title: "local ports towards \(r.peer.text): \(Int(r.usePercent)) % held\(r.forecastSeconds.map { ", out in \(Int($0)) s at \(Int(r.connectsPerSecond))/s" } ?? "")\(maker.map { " (made by \($0.owner.comm), pid \($0.owner.pid))" } ?? "")",
                    evidence: evidence, advice: r.advice.isEmpty ? portAdvice(maker?.owner, reuse: reuse, usable: r.usable) : r.advice,
                    fact: timeWaitFact, firstSeen: r.time, lastSeen: r.time))
        }
        return out
    }

    static func failedConnects(_ e: DiagnosisEvidence, _ t: FindingThresholds) -> [Finding] {
        e.peers.compactMap { p, s -> Finding? in
            let failed = s.failedConnects.filter { $0.key != "EADDRNOTAVAIL" }
            let n = Double(failed.values.reduce(0, +))
            guard n > 0 else { return nil }
            let pct = n * 100 / Double(max(1, s.clientConnections))
            let severity: FindingSeverity = n >= t.failedConnectsWarning && pct >= t.failedConnectsWarningPercent ? .warning : .info
            let reasons = failed.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            return Finding(
                id: "failed_connects/netns:\(p.netns.map(String.init) ?? "?")/\(p.text)", kind: .failedConnects, severity: severity,
                subject: FindingSubject(kind: .destination, name: p.text, netns: p.netns),
                title: "connects to \(p.text) fail: \(reasons) (\(Int(pct)) % of \(s.clientConnections))",
                evidence: [ev("failed_connects", n, "count", "connection records: connect_error"), ev("failed_share", pct, "%", "connection records")]
                    + failed.sorted { $0.key < $1.key }.map { ev("failed_\($0.key)", Double($0.value), "count", "connection records: connect_error") },
                advice: "ECONNREFUSED: nothing listens there (or its accept queue is full with tcp_abort_on_overflow); ETIMEDOUT/EHOSTUNREACH: the path or the host is down; check the destination and its firewall",
                fact: "a refused connect is an RST answering the SYN; a timed-out one ran out of tcp_syn_retries [\(ipSysctl): tcp_syn_retries]",
                firstSeen: s.first, lastSeen: s.last)
        }
    }

    // MARK: per-peer quality

    static func peers(_ e: DiagnosisEvidence, _ t: FindingThresholds) -> [Finding] {
        var out: [Finding] = []
        for (p, s) in e.peers where Double(s.connections) >= t.minimumConnects {
            let subject = FindingSubject(kind: .destination, name: p.text, netns: p.netns)
            let key = "netns:\(p.netns.map(String.init) ?? "?")/\(p.text)"
            let per100 = Double(s.retransmissions) * 100 / Double(s.connections)
            if Double(s.retransmissions) >= t.retransmissionsWarning && per100 >= t.retransmissionsPer100Connections {
                out.append(
                    Finding(
                        id: "retransmissions/\(key)", kind: .retransmissions, severity: .warning, subject: subject,
                        title: "\(s.retransmissions) retransmissions over \(s.connections) connections with \(p.text)",
                        evidence: [
                            ev("retransmissions", Double(s.retransmissions), "count", "connection records: retransmits (tcp_sock.total_retrans)"),
                            ev("per_100_connections", per100, "count", "connection records"),
                            ev("connections_with_retransmissions", Double(s.withRetransmissions), "count", "connection records"),
                        ],
                        advice: "look for loss on the path to \(p.text) (interface errors, a congested link, a busy peer); compare `nstat -az TcpRetransSegs` with the peer's side",
                        fact: "TCP retransmits a segment when its ACK does not come within the RTO or after 3 duplicate ACKs: loss or heavy reordering on the path (RFC 6298, RFC 5681)",
                        firstSeen: s.first, lastSeen: s.last))
            }
            if let p50 = s.rtt.p50, Double(s.rtt.count) >= t.minimumConnects, Double(p50) / 1e6 >= t.rttWarningMilliseconds {
                out.append(
                    Finding(
                        id: "high_rtt/\(key)", kind: .highRTT, severity: .warning, subject: subject,
                        title: "median smoothed RTT to \(p.text) is \(Int(Double(p50) / 1e6)) ms",
                        evidence: [ev("srtt_p50", Double(p50) / 1e6, "ms", "connection records: srtt_us at close"), ev("connections", Double(s.rtt.count), "count", "connection records")],
                        advice: "a far or congested path, or a peer slow to acknowledge (delayed ACKs, a busy host): measure with `ping`/`mtr`, and keep connections open to pay the RTT once",
                        fact: "srtt is the kernel's smoothed round-trip estimate (RFC 6298), read from tcp_sock at close",
                        firstSeen: s.first, lastSeen: s.last))
            }
            if let p90 = s.connect.percentile(90), Double(s.connect.count) >= t.minimumConnects,
                Double(p90) / 1e6 >= t.slowConnectWarningMilliseconds
            {
                out.append(
                    Finding(
                        id: "slow_connects/\(key)", kind: .slowConnects, severity: .warning, subject: subject,
                        title: "connects to \(p.text) are slow: p90 \(Int(Double(p90) / 1e6)) ms",
                        evidence: [
                            ev("connect_p90", Double(p90) / 1e6, "ms", "transitions SYN_SENT -> ESTABLISHED"),
                            ev("connect_p50", Double(s.connect.p50 ?? 0) / 1e6, "ms", "transitions SYN_SENT -> ESTABLISHED"),
                            ev("connects", Double(s.connect.count), "count", "transitions"),
                        ],
                        advice: "a connect of 1 s or 3 s is a lost SYN retransmitted (the peer's SYN queue or accept queue full: see its ListenOverflows, or loss on the path)",
                        fact: "a lost SYN is retransmitted after 1 s, then 2 s, 4 s... (TCP_TIMEOUT_INIT, tcp_syn_retries) [\(ipSysctl): tcp_syn_retries]",
                        firstSeen: s.first, lastSeen: s.last))
            }
        }
        return out
    }

    // MARK: the tracer and the host

    static func lost(_ e: DiagnosisEvidence, _ t: FindingThresholds) -> [Finding] {
        guard e.lost.total > 0 else { return [] }
        let pct = Double(e.lost.total) * 100 / Double(max(1, e.events + e.lost.total))
        return [
            Finding(
                id: "lost_events/host", kind: .lostEvents, severity: pct >= t.lostEventsCriticalPercent ? .critical : .warning,
                subject: .host,
                title: "the tracer lost \(e.lost.total) events (\(String(format2(pct))) %): other findings may be short of evidence",
                evidence: [
                    ev("lost", Double(e.lost.total), "count", "the run's lost-event counters"),
                    ev("ring_buffer_full", Double(e.lost.ringBufferFull), "count", "BPF ring buffer reservations failed"),
                    ev("recursion_misses", Double(e.lost.recursionMisses), "count", "bpf_prog_info.recursion_misses less the fallback's"),
                    ev("undecodable", Double(e.lost.undecodable), "count", "records that could not be decoded"),
                    ev("lost_share", pct, "%", "lost / (delivered + lost)"),
                ],
                advice: "raise --ring-buffer-size, keep --catch-up nice (or fifo), or trace with --events connections,lingerers (the kernel aggregates)",
                fact: "the ring buffer is fixed-size: when user space falls behind, reservations fail and the kernel program counts them",
                firstSeen: e.start ?? e.now, lastSeen: e.now)
        ]
    }

    static func listenQueues(_ e: DiagnosisEvidence, _ t: FindingThresholds) -> [Finding] {
        e.listen.values.compactMap { l -> Finding? in
            let grew = Double(l.overflows - l.overflowsAtStart) + Double(l.drops - l.dropsAtStart)
            guard grew > 0 else { return nil }
            let name = namespaceName(l.netns, l.name)
            return Finding(
                id: "listen_overflow/netns:\(l.netns.map(String.init) ?? "?")", kind: .listenOverflow,
                severity: grew >= t.listenOverflowCritical ? .critical : .warning,
                subject: FindingSubject(kind: .namespace, name: name, netns: l.netns),
                title: "accept queues overflowed in \(name): ListenOverflows +\(l.overflows - l.overflowsAtStart), ListenDrops +\(l.drops - l.dropsAtStart) during the run",
                evidence: [
                    ev("listen_overflows_growth", Double(l.overflows - l.overflowsAtStart), "count", "/proc/net/netstat TcpExtListenOverflows"),
                    ev("listen_drops_growth", Double(l.drops - l.dropsAtStart), "count", "/proc/net/netstat TcpExtListenDrops"),
                    ev("listen_overflows_since_boot", Double(l.overflows), "count", "/proc/net/netstat TcpExtListenOverflows"),
                ],
                advice: "the application accepts too slowly or its listen() backlog is small: raise the backlog and net.core.somaxconn\(e.sysctls?.somaxconn.map { " (now \($0))" } ?? ""), and look at the accept loop",
                fact: "a connection whose handshake completed waits in the listener's accept queue, at most min(backlog, somaxconn) long; past it the final ACK is dropped (or answered with RST under tcp_abort_on_overflow) [\(ipSysctl): somaxconn, tcp_abort_on_overflow]",
                firstSeen: l.first, lastSeen: l.last)
        }
    }

    /// The sysctl audit (`doctor`'s rules) and the host's TIME_WAIT overflow; what cannot be read.
    static func host(_ e: DiagnosisEvidence, _ t: FindingThresholds) -> [Finding] {
        var out: [Finding] = []
        let now = e.now
        if let s = e.sysctls {
            let census = e.census.values.first { $0.netnsName == "host" } ?? e.census[nil]
            for a in SysctlAudit.advice(s, census: census, counters: TCPExtCounters()) {
                let severity: FindingSeverity
                switch a.rule {
                case .twRecyclePresent: severity = s.tcpTwRecycle != 0 ? .warning : .info
                case .twReuseWithoutTimestamps: severity = .warning
                case .finTimeoutIsNotTimeWait: severity = .info
                // Said by the TIME_WAIT, CLOSE_WAIT and listen-queue findings with their evidence.
                case .twReuseNearPortExhaustion, .closeWaitIsAnApplicationBug, .listenQueueOverflow, .timeWaitOverflow: continue
                case .synBacklogPressure: severity = .warning
                }
                out.append(
                    Finding(
                        id: "sysctl/\(a.rule.rawValue)", kind: .sysctl, severity: severity, subject: .host, title: a.message,
                        evidence: [ev("rule", 1, "count", "sysctl audit (\(a.sysctl ?? "no sysctl")): \(a.rule.rawValue)")],
                        advice: a.message, fact: a.doc, firstSeen: now, lastSeen: now))
            }
        }
        if let grew = e.timeWaitOverflow, grew > 0 {
            out.append(
                Finding(
                    id: "time_wait_overflow/host", kind: .timeWaitOverflow, severity: .warning, subject: .host,
                    title: "\(grew) connections skipped TIME_WAIT: tcp_max_tw_buckets=\(e.sysctls?.tcpMaxTwBuckets.map(String.init) ?? "?") reached",
                    evidence: [ev("time_wait_overflow_growth", Double(grew), "count", "/proc/net/netstat TcpExtTCPTimeWaitOverflow")],
                    advice: "raise net.ipv4.tcp_max_tw_buckets if memory allows (never lower it); better, make fewer connections (pooling)",
                    fact: "past tcp_max_tw_buckets the kernel destroys closing sockets at once instead of keeping TIME_WAIT, losing its protection against old duplicates [\(ipSysctl): tcp_max_tw_buckets]",
                    firstSeen: e.start ?? now, lastSeen: now))
        }
        for (what, m) in e.missing {
            out.append(
                Finding(
                    id: "evidence_missing/\(what)", kind: .evidenceMissing, severity: .info, subject: .host,
                    title: "\(what) could not be read: \(m.why); findings that need it are left out",
                    evidence: [ev("unreadable", 1, "count", what)],
                    advice: "run as root, on the host (not in a container without /proc)", fact: "the kernel's per-namespace counters are in /proc/net/netstat of each network namespace",
                    firstSeen: m.at, lastSeen: m.at))
        }
        return out
    }

    static func format2(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return String(r)
    }
}
