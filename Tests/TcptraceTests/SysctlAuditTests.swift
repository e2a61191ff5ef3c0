import Testing
@testable import TcptraceCore

/// One test per advice rule, each from plain values, plus the healthy host.
@Suite struct SysctlAuditTests {
    let t = WallTime(nanoseconds: 0)

    /// Debian 12 / Linux 6.x defaults.
    var defaults: TCPSysctls {
        TCPSysctls(raw: [
            "net.ipv4.tcp_tw_reuse": "2\n", "net.ipv4.tcp_timestamps": "1\n", "net.ipv4.tcp_fin_timeout": "60\n",
            "net.ipv4.tcp_max_tw_buckets": "131072\n", "net.ipv4.ip_local_port_range": "32768\t60999\n",
            "net.ipv4.tcp_syncookies": "1\n", "net.ipv4.tcp_max_syn_backlog": "2048\n", "net.core.somaxconn": "4096\n",
        ])
    }

    func census(_ sockets: [SocketSnapshot], range: PortRange = .linuxDefault) -> Census {
        Census(time: t, sockets: sockets, portRange: range)
    }

    func rules(_ s: TCPSysctls, _ c: Census?, _ k: TCPExtCounters = TCPExtCounters(timeWaitOverflow: 0, listenOverflows: 0, reqQueueFullDrop: 0))
        -> [SysctlAdvice.Rule]
    {
        SysctlAudit.advice(s, census: c, counters: k).map(\.rule)
    }

    @Test func parsesSysctlText() {
        let s = defaults
        #expect(s.tcpTwReuse == 2 && s.tcpTwRecycle == nil && s.tcpFinTimeout == 60 && s.somaxconn == 4096)
        #expect(s.ipLocalPortRange == PortRange(low: 32768, high: 60999))
        #expect(TCPSysctls.procPath("net.core.somaxconn") == "/proc/sys/net/core/somaxconn")
    }

    @Test func parsesProcNetNetstat() {
        let text = """
            TcpExt: SyncookiesSent ListenOverflows TCPTimeWaitOverflow TCPReqQFullDrop
            TcpExt: 3 7 1574358 2
            IpExt: InNoRoutes
            IpExt: 0
            """
        #expect(TCPExtCounters(procNetNetstat: text) == TCPExtCounters(timeWaitOverflow: 1_574_358, listenOverflows: 7, reqQueueFullDrop: 2))
    }

    @Test func nothingToAdviseOnAHealthyHost() {
        let c = census([
            sock(.established, "10.0.0.1", 40000, "10.0.0.9", 5432),
            sock(.timeWait, "10.0.0.1", 40001, "10.0.0.9", 5432),
            sock(.listen, "0.0.0.0", 8080, "0.0.0.0", 0),
        ])
        #expect(rules(defaults, c).isEmpty)
        #expect(rules(defaults, nil).isEmpty)
    }

    @Test func factsNameTheirDocumentation() {
        let facts = SysctlAudit.facts(defaults)
        #expect(facts.map(\.sysctl) == TCPSysctls.names)
        #expect(facts.allSatisfy { $0.doc.hasPrefix("Documentation/networking/ip-sysctl.rst") })
        #expect(facts.first { $0.sysctl == "net.ipv4.tcp_tw_recycle" }!.value == nil)
        #expect(facts.first { $0.sysctl == "net.ipv4.tcp_tw_recycle" }!.fact.contains("4.12"))
        #expect(facts.first { $0.sysctl == "net.ipv4.tcp_fin_timeout" }!.fact.contains("TCP_TIMEWAIT_LEN"))
        #expect(facts.first { $0.sysctl == "net.ipv4.ip_local_port_range" }!.value == "32768 60999")
    }

    @Test func twRecyclePresentOnAnOldKernel() {
        var s = defaults
        s.tcpTwRecycle = 1
        #expect(rules(s, nil) == [.twRecyclePresent])
        let a = SysctlAudit.advice(s, census: nil, counters: TCPExtCounters())[0]
        #expect(a.message.contains("NAT") && a.sysctl == "net.ipv4.tcp_tw_recycle")
    }

    @Test func twReuseOnlyWhenOutboundTimeWaitNearsThePortRange() {
        let range = PortRange(low: 40000, high: 40099)
        var near: [SocketSnapshot] = []
        for i in 0..<50 { near.append(sock(.timeWait, "10.0.0.1", 40000 + UInt16(i), "10.0.0.9", 5432)) }
        #expect(rules(defaults, census(Array(near.prefix(49)), range: range)).isEmpty)
        #expect(rules(defaults, census(near, range: range)) == [.twReuseNearPortExhaustion])
        let advice = SysctlAudit.advice(defaults, census: census(near, range: range), counters: TCPExtCounters())[0]
        #expect(advice.sysctl == "net.ipv4.tcp_tw_reuse" && advice.message.contains("10.0.0.9:5432") && advice.message.contains("tcp_tw_reuse=1"))
        #expect(advice.doc.contains("ip-sysctl.rst: tcp_tw_reuse"))
        // Inbound TIME_WAIT (our service port, outside the range) never suggests tcp_tw_reuse.
        let inbound = (0..<100).map { sock(.timeWait, "10.0.0.1", 80, "10.0.0.9", 50000 + UInt16($0)) }
        #expect(rules(defaults, census(inbound, range: range)).isEmpty)
        // Already 1: widen the range instead.
        var s = defaults
        s.tcpTwReuse = 1
        let a = SysctlAudit.advice(s, census: census(near, range: range), counters: TCPExtCounters())
        #expect(a.map(\.rule) == [.twReuseNearPortExhaustion] && a[0].sysctl == "net.ipv4.ip_local_port_range")
    }

    @Test func twReuseWithoutTimestampsDoesNothing() {
        var s = defaults
        s.tcpTimestamps = 0
        #expect(rules(s, nil) == [.twReuseWithoutTimestamps])
        s.tcpTwReuse = 0
        #expect(rules(s, nil).isEmpty)
    }

    @Test func timeWaitOverflowSaysNeverLower() {
        let k = TCPExtCounters(timeWaitOverflow: 12, listenOverflows: 0, reqQueueFullDrop: 0)
        #expect(rules(defaults, nil, k) == [.timeWaitOverflow])
        let a = SysctlAudit.advice(defaults, census: nil, counters: k)[0]
        #expect(a.message.contains("never lower") && a.doc.hasSuffix("tcp_max_tw_buckets"))
    }

    @Test func finTimeoutDoesNotShortenTimeWait() {
        var s = defaults
        s.tcpFinTimeout = 15
        let tw = census([sock(.timeWait, "10.0.0.1", 40001, "10.0.0.9", 5432)])
        #expect(rules(s, tw) == [.finTimeoutIsNotTimeWait])
        #expect(rules(s, census([])).isEmpty)  // no TIME_WAIT: nothing to say
    }

    @Test func closeWaitHasNoSysctlCure() {
        let c = census([sock(.closeWait, "10.0.0.1", 8080, "192.0.2.2", 50000)])
        let a = SysctlAudit.advice(defaults, census: c, counters: TCPExtCounters())
        #expect(a.map(\.rule) == [.closeWaitIsAnApplicationBug])
        #expect(a[0].sysctl == nil && a[0].message.contains("tcptrace-bpf") && a[0].message.contains("local port 8080"))
    }

    @Test func synBacklogPressure() {
        var s = defaults
        s.tcpMaxSynBacklog = 4
        s.tcpSyncookies = 0
        let c = census((0..<2).map { sock(.synRecv, "10.0.0.1", 8080, "192.0.2.2", 50000 + UInt16($0)) })
        let a = SysctlAudit.advice(s, census: c, counters: TCPExtCounters())
        #expect(a.map(\.rule) == [.synBacklogPressure] && a[0].message.contains("tcp_syncookies"))
        s.tcpMaxSynBacklog = 2048
        #expect(rules(s, c).isEmpty)
        #expect(rules(s, c, TCPExtCounters(timeWaitOverflow: 0, listenOverflows: 0, reqQueueFullDrop: 3)) == [.synBacklogPressure])
    }

    @Test func listenQueueOverflowPointsAtSomaxconn() {
        let k = TCPExtCounters(timeWaitOverflow: 0, listenOverflows: 5, reqQueueFullDrop: 0)
        let a = SysctlAudit.advice(defaults, census: nil, counters: k)
        #expect(a.map(\.rule) == [.listenQueueOverflow] && a[0].sysctl == "net.core.somaxconn")
    }

    @Test func doctorJSONIsOneLine() {
        let text: [String: String?] = ["net.ipv4.tcp_tw_reuse": "2\n", "net.ipv4.tcp_tw_recycle": nil]
        let r = DoctorReport(
            time: t, checks: [.init(name: "privileges", status: .ok, detail: "root")], sysctls: defaults,
            sysctlText: text, counters: TCPExtCounters(timeWaitOverflow: 0),
            census: census([]))
        var out: [UInt8] = []
        JSONLines.append(r, to: &out)
        let s = String(decoding: out, as: UTF8.self)
        #expect(s.hasPrefix(#"{"type":"doctor","v":1,"time":"1970-01-01T00:00:00.000000000Z","runnable":true,"checks":[{"name":"privileges","status":"ok","detail":"root"}],"sysctls":{"net.ipv4.tcp_tw_reuse":"2","net.ipv4.tcp_tw_recycle":null,"#))
        #expect(s.filter { $0 == "\n" }.count == 1 && s.hasSuffix("],\"advice\":[]}\n"))
    }
}
