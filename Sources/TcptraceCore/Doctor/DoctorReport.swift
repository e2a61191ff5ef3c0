/// What `tcptrace-bpf doctor` found: can this host run the tracer, and what do its TCP
/// sysctls and counters say about what the census measures now.
public struct DoctorReport: Sendable {
    public struct Check: Hashable, Sendable {
        public enum Status: String, Sendable, CaseIterable {
            /// Present and working.
            case ok
            /// Missing: the tracer cannot run.
            case fail
            /// Worth knowing, does not decide (e.g. tracefs).
            case info
        }
        public var name: String
        public var status: Status
        public var detail: String
        public init(name: String, status: Status, detail: String) {
            self.name = name
            self.status = status
            self.detail = detail
        }
    }

    public var time: WallTime
    public var checks: [Check]
    public var sysctls: TCPSysctls
    /// Raw /proc/sys text per sysctl name; nil: absent.
    public var sysctlText: [String: String?]
    public var counters: TCPExtCounters
    /// nil when the census could not be taken (its error is in `checks`).
    public var census: Census?

    public init(
        time: WallTime, checks: [Check], sysctls: TCPSysctls, sysctlText: [String: String?], counters: TCPExtCounters,
        census: Census?
    ) {
        self.time = time
        self.checks = checks
        self.sysctls = sysctls
        self.sysctlText = sysctlText
        self.counters = counters
        self.census = census
    }

    public var runnable: Bool { !checks.contains { $0.status == .fail } }
    public var facts: [SysctlFact] { SysctlAudit.facts(sysctls) }
    public var advice: [SysctlAdvice] { SysctlAudit.advice(sysctls, census: census, counters: counters) }
}

extension JSONLines {
    /// One `doctor` line, newline included.
    public static func append(_ r: DoctorReport, to out: inout [UInt8]) { append(DoctorRecord(r), to: &out) }
}

extension TextLines {
    public func appendDoctor(_ r: DoctorReport, to out: inout [UInt8]) {
        var t = r.runnable ? "tcptrace-bpf can run on this host.\n\n" : "tcptrace-bpf cannot run on this host:\n\n"
        for c in r.checks {
            t += "  [" + (c.status == .ok ? " ok " : c.status == .fail ? "FAIL" : "info") + "] "
            t += c.name.padded(to: max(14, c.name.utf8.count + 1)) + c.detail + "\n"
        }
        t += "\nsysctls (what each does, and where the kernel documents it):\n"
        for f in r.facts {
            t += "  " + f.sysctl.padded(to: 30) + (f.value ?? "(absent)") + "\n      " + f.fact + "\n      [" + f.doc + "]\n"
        }
        let k = r.counters
        t += "\ncounters (/proc/net/netstat): TcpExtTCPTimeWaitOverflow \(k.timeWaitOverflow.map(String.init) ?? "?")"
        t += ", TcpExtListenOverflows \(k.listenOverflows.map(String.init) ?? "?"), TcpExtTCPReqQFullDrop \(k.reqQueueFullDrop.map(String.init) ?? "?")\n"
        if let c = r.census {
            t += "census now: \(c.total) TCP sockets, TIME_WAIT \(c.count(.timeWait)), CLOSE_WAIT \(c.count(.closeWait)), SYN_RECV \(c.count(.synRecv)), ESTABLISHED \(c.count(.established))\n"
        }
        let advice = r.advice
        t += "\nadvice:\n"
        if advice.isEmpty { t += "  nothing to advise: the census and counters show no TIME_WAIT, CLOSE_WAIT or backlog trouble\n" }
        for a in advice { t += "  - " + a.message + "\n    [" + a.doc + "]\n" }
        out.append(contentsOf: t.utf8)
    }
}
