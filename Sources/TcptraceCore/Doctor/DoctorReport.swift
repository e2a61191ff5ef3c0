/// What `tcptrace-bpf doctor` found: can this host run the tracer, and what do its TCP
/// sysctls and counters say about what the census measures now.
public struct DoctorReport: Sendable {
    public struct Check: Hashable, Sendable {
        public enum Status: String, Sendable {
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
    public static func append(_ r: DoctorReport, to out: inout [UInt8]) {
        appendHeader("doctor", time: r.time, to: &out)
        out.appendASCII(",\"runnable\":")
        out.appendASCII(r.runnable ? "true" : "false")
        out.appendASCII(",\"checks\":[")
        for (i, c) in r.checks.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.appendASCII("{\"name\":")
            out.appendJSONString(c.name)
            out.appendASCII(",\"status\":\"")
            out.append(c.status.rawValue)
            out.appendASCII("\",\"detail\":")
            out.appendJSONString(c.detail)
            out.append(UInt8(ascii: "}"))
        }
        out.appendASCII("],\"sysctls\":{")
        for (i, name) in TCPSysctls.names.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.appendJSONString(name)
            out.append(UInt8(ascii: ":"))
            if let v = r.sysctlText[name] ?? nil { out.appendJSONString(String(v.trimmingWhitespace)) } else { out.appendASCII("null") }
        }
        out.appendASCII("},\"counters\":{\"TcpExtTCPTimeWaitOverflow\":")
        appendOptional(r.counters.timeWaitOverflow, to: &out)
        out.appendASCII(",\"TcpExtListenOverflows\":")
        appendOptional(r.counters.listenOverflows, to: &out)
        out.appendASCII(",\"TcpExtTCPReqQFullDrop\":")
        appendOptional(r.counters.reqQueueFullDrop, to: &out)
        out.appendASCII("},\"census\":")
        if let c = r.census {
            out.appendASCII("{\"total\":")
            out.appendDecimal(UInt64(c.total))
            out.appendASCII(",\"states\":")
            appendStates(c, to: &out)
            out.append(UInt8(ascii: "}"))
        } else {
            out.appendASCII("null")
        }
        out.appendASCII(",\"audit\":[")
        for (i, f) in r.facts.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.appendASCII("{\"sysctl\":")
            out.appendJSONString(f.sysctl)
            out.appendASCII(",\"value\":")
            if let v = f.value { out.appendJSONString(v) } else { out.appendASCII("null") }
            out.appendASCII(",\"fact\":")
            out.appendJSONString(f.fact)
            out.appendASCII(",\"doc\":")
            out.appendJSONString(f.doc)
            out.append(UInt8(ascii: "}"))
        }
        out.appendASCII("],\"advice\":[")
        for (i, a) in r.advice.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.appendASCII("{\"rule\":\"")
            out.append(a.rule.rawValue)
            out.appendASCII("\",\"sysctl\":")
            if let s = a.sysctl { out.appendJSONString(s) } else { out.appendASCII("null") }
            out.appendASCII(",\"message\":")
            out.appendJSONString(a.message)
            out.appendASCII(",\"doc\":")
            out.appendJSONString(a.doc)
            out.append(UInt8(ascii: "}"))
        }
        out.appendASCII("]}\n")
    }
}

extension TextLines {
    public func appendDoctor(_ r: DoctorReport, to out: inout [UInt8]) {
        out.append(r.runnable ? "tcptrace-bpf can run on this host.\n\n" : "tcptrace-bpf cannot run on this host:\n\n")
        for c in r.checks {
            out.appendASCII("  [")
            out.append(c.status == .ok ? " ok " : c.status == .fail ? "FAIL" : "info")
            out.appendASCII("] ")
            out.append(c.name, paddedTo: max(14, c.name.utf8.count + 1))
            out.append(c.detail)
            out.append(UInt8(ascii: "\n"))
        }
        out.appendASCII("\nsysctls (what each does, and where the kernel documents it):\n")
        for f in r.facts {
            out.appendASCII("  ")
            out.append(f.sysctl, paddedTo: 30)
            out.append(f.value ?? "(absent)")
            out.appendASCII("\n      ")
            out.append(f.fact)
            out.appendASCII("\n      [")
            out.append(f.doc)
            out.appendASCII("]\n")
        }
        out.appendASCII("\ncounters (/proc/net/netstat): TcpExtTCPTimeWaitOverflow ")
        out.append(r.counters.timeWaitOverflow.map(String.init) ?? "?")
        out.appendASCII(", TcpExtListenOverflows ")
        out.append(r.counters.listenOverflows.map(String.init) ?? "?")
        out.appendASCII(", TcpExtTCPReqQFullDrop ")
        out.append(r.counters.reqQueueFullDrop.map(String.init) ?? "?")
        out.append(UInt8(ascii: "\n"))
        if let c = r.census {
            out.append(
                "census now: \(c.total) TCP sockets, TIME_WAIT \(c.count(.timeWait)), CLOSE_WAIT \(c.count(.closeWait)), SYN_RECV \(c.count(.synRecv)), ESTABLISHED \(c.count(.established))\n"
            )
        }
        let advice = r.advice
        out.appendASCII("\nadvice:\n")
        if advice.isEmpty { out.appendASCII("  nothing to advise: the census and counters show no TIME_WAIT, CLOSE_WAIT or backlog trouble\n") }
        for a in advice {
            out.appendASCII("  - ")
            out.append(a.message)
            out.appendASCII("\n    [")
            out.append(a.doc)
            out.appendASCII("]\n")
        }
    }
}
