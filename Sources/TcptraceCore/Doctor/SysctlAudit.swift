/// Rules from plain values: what the kernel documentation says (facts, always) and what to do
/// about what the census measures right now (advice, only with evidence).
public enum SysctlAudit {
    static let ipSysctl = "Documentation/networking/ip-sysctl.rst"
    static func doc(_ name: String) -> String { "\(ipSysctl): \(name)" }

    /// TIME_WAIT for one destination from one source uses this share of the port range or more:
    /// port exhaustion is near.
    public static let exhaustionPercent = 50.0
    /// SYN_RECV sockets at this share of tcp_max_syn_backlog or more: the SYN queue is filling.
    public static let synBacklogPercent = 50.0

    public static func facts(_ s: TCPSysctls) -> [SysctlFact] {
        func v(_ x: Int?) -> String? { x.map(String.init) }
        return [
            SysctlFact(
                sysctl: "net.ipv4.tcp_tw_reuse", value: v(s.tcpTwReuse),
                fact: TimeWaitFacts.twReuse,
                doc: doc("tcp_tw_reuse")),
            SysctlFact(
                sysctl: "net.ipv4.tcp_tw_recycle", value: v(s.tcpTwRecycle),
                fact: s.tcpTwRecycle == nil
                    ? TimeWaitFacts.twRecycleRemoved
                    : "present on this old kernel: 1 drops connections from clients behind NAT; removed in Linux 4.12",
                doc: "\(ipSysctl) (no tcp_tw_recycle entry since Linux 4.12)"),
            SysctlFact(
                sysctl: "net.ipv4.tcp_timestamps", value: v(s.tcpTimestamps),
                fact: "TCP timestamps (RFC 1323/7323); tcp_tw_reuse relies on them", doc: doc("tcp_timestamps")),
            SysctlFact(
                sysctl: "net.ipv4.tcp_fin_timeout", value: v(s.tcpFinTimeout),
                fact: TimeWaitFacts.finTimeout,
                doc: doc("tcp_fin_timeout") + "; include/net/tcp.h: TCP_TIMEWAIT_LEN"),
            SysctlFact(
                sysctl: "net.ipv4.tcp_max_tw_buckets", value: v(s.tcpMaxTwBuckets),
                fact:
                    "most TIME_WAIT sockets held at once; past it they are destroyed at once (TcpExtTCPTimeWaitOverflow grows). It exists against DoS: lowering it destroys TIME_WAIT's protection against old duplicates",
                doc: doc("tcp_max_tw_buckets")),
            SysctlFact(
                sysctl: "net.ipv4.ip_local_port_range", value: s.ipLocalPortRange.map { "\($0.low) \($0.high)" },
                fact: TimeWaitFacts.portRange,
                doc: doc("ip_local_port_range")),
            SysctlFact(
                sysctl: "net.ipv4.tcp_syncookies", value: v(s.tcpSyncookies),
                fact: "1 (default) answers with syncookies when a listener's SYN queue overflows (SYN flood), 2 always, 0 never",
                doc: doc("tcp_syncookies")),
            SysctlFact(
                sysctl: "net.ipv4.tcp_max_syn_backlog", value: v(s.tcpMaxSynBacklog),
                fact: "per-listener limit of connection requests (SYN_RECV) not yet acknowledged by the client",
                doc: doc("tcp_max_syn_backlog")),
            SysctlFact(
                sysctl: "net.core.somaxconn", value: v(s.somaxconn),
                fact: "upper limit of a listen() backlog: the accept queue of established connections not yet accepted (default 4096 since Linux 5.4)",
                doc: doc("somaxconn")),
        ]
    }

    public static func advice(_ s: TCPSysctls, census: Census?, counters: TCPExtCounters) -> [SysctlAdvice] {
        var out: [SysctlAdvice] = []
        if let r = s.tcpTwRecycle {
            out.append(
                SysctlAdvice(
                    rule: .twRecyclePresent, sysctl: "net.ipv4.tcp_tw_recycle",
                    message: r != 0
                        ? "tcp_tw_recycle=\(r) drops SYNs from clients behind NAT; set it to 0 (Linux 4.12 removed it)"
                        : "this kernel still has tcp_tw_recycle (removed in Linux 4.12): leave it 0, it breaks clients behind NAT",
                    doc: "\(ipSysctl) (no tcp_tw_recycle entry since Linux 4.12)"))
        }
        // TIME_WAIT's share (what tcp_tw_reuse can free; open connections' ports it cannot).
        if let census, let worst = census.exhaustion.max(by: { $0.timeWaitUsePercent < $1.timeWaitUsePercent }),
            worst.timeWaitUsePercent >= exhaustionPercent
        {
            let dest = "\(worst.remote.family == .ipv6 ? "[\(worst.remote.text)]" : worst.remote.text):\(worst.remotePort)"
            let held = "\(min(worst.timeWait, worst.maxPerLocalAddress)) of \(worst.portRange.size) local ports (\(Int(worst.timeWaitUsePercent)) %)"
            if s.tcpTwReuse != 1 {
                let timestamps = s.tcpTimestamps == 0 ? " together with tcp_timestamps=1 (it is 0 here)" : ""
                out.append(
                    SysctlAdvice(
                        rule: .twReuseNearPortExhaustion, sysctl: "net.ipv4.tcp_tw_reuse",
                        message:
                            "outbound TIME_WAIT to \(dest) holds \(held): set tcp_tw_reuse=1\(timestamps) so connect() can reuse them (2, the default, is loopback only), widen ip_local_port_range, keep connections open (pooling), use IP_BIND_ADDRESS_NO_PORT where the client binds before connect(), or more destination addresses",
                        doc: doc("tcp_tw_reuse") + "; " + doc("ip_local_port_range")))
            } else {
                out.append(
                    SysctlAdvice(
                        rule: .twReuseNearPortExhaustion, sysctl: "net.ipv4.ip_local_port_range",
                        message:
                            "outbound TIME_WAIT to \(dest) holds \(held) although tcp_tw_reuse=1: widen ip_local_port_range, add source addresses, or keep connections open (pooling)",
                        doc: doc("ip_local_port_range")))
            }
        }
        if let reuse = s.tcpTwReuse, reuse != 0, s.tcpTimestamps == 0 {
            out.append(
                SysctlAdvice(
                    rule: .twReuseWithoutTimestamps, sysctl: "net.ipv4.tcp_timestamps",
                    message: "tcp_tw_reuse=\(reuse) has no effect while tcp_timestamps=0: reuse is only safe, and only done, with timestamps",
                    doc: doc("tcp_tw_reuse") + "; " + doc("tcp_timestamps")))
        }
        let tw = census?.count(.timeWait) ?? 0
        if let overflow = counters.timeWaitOverflow, overflow > 0 {
            out.append(
                SysctlAdvice(
                    rule: .timeWaitOverflow, sysctl: "net.ipv4.tcp_max_tw_buckets",
                    message:
                        "TcpExtTCPTimeWaitOverflow is \(overflow): \(overflow) connections skipped TIME_WAIT because tcp_max_tw_buckets=\(s.tcpMaxTwBuckets.map(String.init) ?? "?") was reached (\(tw) in TIME_WAIT now); raise it if memory allows, never lower it",
                    doc: doc("tcp_max_tw_buckets")))
        }
        if let fin = s.tcpFinTimeout, fin < 60, tw > 0 {
            out.append(
                SysctlAdvice(
                    rule: .finTimeoutIsNotTimeWait, sysctl: "net.ipv4.tcp_fin_timeout",
                    message:
                        "tcp_fin_timeout=\(fin) does not shorten the \(tw) TIME_WAIT sockets here: TIME_WAIT lasts 60 s (TCP_TIMEWAIT_LEN); tcp_fin_timeout only bounds orphaned FIN_WAIT2",
                    doc: doc("tcp_fin_timeout") + "; include/net/tcp.h: TCP_TIMEWAIT_LEN"))
        }
        if let census, census.count(.closeWait) > 0 {
            let top = census.topCloseWait.first.map { p in
                " (most: \(p.count) from \(p.peer.remote.text)\(p.peer.localPort.map { " on local port \($0)" } ?? ""))"
            } ?? ""
            out.append(
                SysctlAdvice(
                    rule: .closeWaitIsAnApplicationBug, sysctl: nil,
                    message:
                        "\(census.count(.closeWait)) sockets in CLOSE_WAIT\(top): the peer closed and the application has not; no sysctl ends CLOSE_WAIT. Find the owner with `tcptrace-bpf` (lingerer records) or `ss -tp state close-wait`",
                    doc: "\(ipSysctl): no sysctl bounds CLOSE_WAIT (RFC 9293 3.3.2: the application must close)"))
        }
        if let census, let backlog = s.tcpMaxSynBacklog, backlog > 0,
            Double(census.count(.synRecv)) * 100 / Double(backlog) >= synBacklogPercent
                || (counters.reqQueueFullDrop ?? 0) > 0
        {
            let cookies = s.tcpSyncookies == 0 ? "; tcp_syncookies is 0: set it to 1 so an overflowing SYN queue answers with cookies instead of dropping" : ""
            out.append(
                SysctlAdvice(
                    rule: .synBacklogPressure, sysctl: "net.ipv4.tcp_max_syn_backlog",
                    message:
                        "\(census.count(.synRecv)) connection requests in SYN_RECV against tcp_max_syn_backlog=\(backlog) (TcpExtTCPReqQFullDrop \(counters.reqQueueFullDrop.map(String.init) ?? "?"))\(cookies); if the clients are legitimate, raise tcp_max_syn_backlog",
                    doc: doc("tcp_max_syn_backlog") + "; " + doc("tcp_syncookies")))
        }
        if let overflows = counters.listenOverflows, overflows > 0 {
            out.append(
                SysctlAdvice(
                    rule: .listenQueueOverflow, sysctl: "net.core.somaxconn",
                    message:
                        "TcpExtListenOverflows is \(overflows): accept queues overflowed. The application accepts too slowly or its listen() backlog is small; the backlog is capped at somaxconn=\(s.somaxconn.map(String.init) ?? "?") (raise both, and look at the accept loop)",
                    doc: doc("somaxconn") + "; " + doc("tcp_abort_on_overflow")))
        }
        return out
    }
}
