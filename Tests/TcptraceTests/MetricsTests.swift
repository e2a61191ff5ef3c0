import Testing
@testable import TcptraceCore

/// The metrics page, its HTTP and its inputs, without a kernel.
@Suite struct MetricsTests {
    @Test func addressesAreIPv4OrBracketedIPv6WithAPort() {
        #expect(MetricsAddress("127.0.0.1:9464") == MetricsAddress(host: .v4(0x7f00_0001), port: 9464))
        #expect(MetricsAddress("[::1]:9464") == MetricsAddress(host: .v6(0, 1), port: 9464))
        #expect(MetricsAddress("[::]:80")?.description == "[::]:80")
        #expect(MetricsAddress("0.0.0.0:65535")?.description == "0.0.0.0:65535")
        for bad in ["localhost:9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "::1:9464", "[::1]9464",
            "[127.0.0.1]:80", "1.2.3:80", "127.0.0.1:+80", ":9464", "[::1]:"]
        {
            #expect(MetricsAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func histogramBucketsAreCumulativeInSeconds() {
        var h = DurationHistogram()
        for ns: UInt64 in [30_000, 2_000_000, 2_000_000, 7_000_000_000] { h.record(ns) }
        #expect(h.sum == 7_004_030_000)
        var p = PrometheusText()
        p.histogram("x_seconds", [("state", "A")], h)
        let lines = p.text.split(separator: "\n").map(String.init)
        #expect(lines.count == DurationHistogram.leBounds.count + 3)
        #expect(lines.first == #"x_seconds_bucket{state="A",le="2.5e-05"} 0"#)
        #expect(lines.contains(#"x_seconds_bucket{state="A",le="5e-05"} 1"#))
        #expect(lines.contains(#"x_seconds_bucket{state="A",le="0.001"} 1"#))
        #expect(lines.contains(#"x_seconds_bucket{state="A",le="0.0025"} 3"#))
        #expect(lines.contains(#"x_seconds_bucket{state="A",le="5"} 3"#))
        #expect(lines.contains(#"x_seconds_bucket{state="A",le="10"} 4"#))
        #expect(lines.contains(#"x_seconds_bucket{state="A",le="+Inf"} 4"#))
        #expect(lines.contains(#"x_seconds_sum{state="A"} 7.00403"#))
        #expect(lines.last == #"x_seconds_count{state="A"} 4"#)
        // Never decreasing.
        let values = lines.filter { $0.contains("_bucket") }.map { UInt64($0.split(separator: " ").last!)! }
        #expect(values == values.sorted())
    }

    /// `le` is "at or below": exact on both sides of a bound, although the bound falls inside a
    /// bucket of the log-linear histogram (1 ms: [999,424, 1,003,519] ns).
    @Test func aValueOnABoundCountsUnderIt() {
        let ms = DurationHistogram.leBounds.firstIndex(of: 1_000_000)!
        for (value, under) in [(1_000_000, true), (999_999, true), (999_424, true), (1_000_001, false), (1_003_519, false)] {
            var h = DurationHistogram()
            h.record(UInt64(value))
            let c = h.cumulativeCountsAtLEBounds
            #expect(c[ms] == (under ? 1 : 0), "\(value) ns at le=0.001")
            #expect(c[ms - 1] == 0 && c[ms + 1] == 1, "\(value) ns")
        }
        // Merged and subtracted copies keep the exact counts.
        var a = DurationHistogram(), b = DurationHistogram()
        a.record(1_000_000)
        b.record(1_000_001)
        var both = a
        both.merge(b)
        #expect(both.cumulativeCountsAtLEBounds[ms] == 1 && both.cumulativeCountsAtLEBounds[ms + 1] == 2)
        #expect(both.subtracting(a).cumulativeCountsAtLEBounds[ms] == 0)
        // Every bound's label, as Prometheus writes the number.
        #expect(PrometheusText.durationBoundLabels.first == "2.5e-05" && PrometheusText.durationBoundLabels.last == "3600")
        #expect(PrometheusText.durationBoundLabels.contains("0.001") && PrometheusText.durationBoundLabels.contains("2.5"))
    }

    @Test func labelValuesAndHelpAreEscaped() {
        var p = PrometheusText()
        p.family("x_total", .counter, "a \\ back\nslash")
        p.sample("x_total", [("comm", "a\"b\\c\nd")], UInt64(3))
        #expect(p.text == "# HELP x_total a \\\\ back\\nslash\n# TYPE x_total counter\n" + #"x_total{comm="a\"b\\c\nd"} 3"# + "\n")
        #expect(PrometheusText.format(.infinity) == "+Inf" && PrometheusText.format(.nan) == "NaN")
    }

    func summary() -> RunSummary {
        var s = RunSummary(start: WallTime(nanoseconds: 0))
        s.transitionCounts = [StatePair(.synSent, .established): 5, StatePair(.close, .synSent): 5]
        var c = ConnectionRecord()
        c.role = .client
        c.closedBy = .local
        c.retransmissions = 2
        s.closed.record(c)
        s.closed.record(c)
        c.role = .server
        c.closedBy = .remote
        c.retransmissions = nil
        s.closed.record(c)
        s.connectLatency.record(40_000)
        s.stateDurations[Int(TCPState.established.rawValue)].record(3_000_000)
        s.lost.ringBufferFull = 7
        return s
    }

    @Test func thePageHasEveryFamilyOnceAndOnlyDeclaredSamples() {
        var lingerers = LingererTally()
        var l = LingererRecord(
            event: .lingering, time: WallTime(nanoseconds: 0), identity: SocketIdentity(), holder: .init(process: Owner(pid: 9, comm: "java"), fd: 3),
            inode: nil, ageNanoseconds: 0, ageIsLowerBound: false, unreadBytes: nil)
        lingerers.record(l, container: "web-1")
        let census = Census(
            time: WallTime(nanoseconds: 0),
            sockets: [
                SocketSnapshot(cookie: 1, state: .timeWait, local: .v4(0x0a00_0001), localPort: 40000, remote: .v4(0x0a00_0002), remotePort: 443),
                SocketSnapshot(cookie: 2, state: .established, local: .v4(0x0a00_0001), localPort: 40001, remote: .v4(0x0a00_0002), remotePort: 443),
            ])
        let snapshot = MetricsSnapshot(
            summary: summary(), census: [census], lingerers: lingerers, tracked: 3, timeWaitOverflow: 0, hostRetransmittedSegments: 11,
            programs: [ProgramRunStats(program: "handle_set_state", runNanoseconds: 1_500_000_000, runs: 10)])
        let page = PrometheusText.render(
            snapshot,
            process: ProcessStats(cpuSeconds: 1.5, residentBytes: 4096, virtualBytes: 8192, startTimeSeconds: 1e9, openFDs: 5, maxFDs: 1024))
        let lines = page.split(separator: "\n").map(String.init)
        let types = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(Set(types).count == types.count, "each family once")
        for line in lines where !line.hasPrefix("#") {
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            let family = ["_bucket", "_sum", "_count"].reduce(name) { n, s in types.contains(Substring(n)) ? n : (n.hasSuffix(s) ? String(n.dropLast(s.count)) : n) }
            #expect(types.contains(Substring(family)), "\(line) has no # TYPE")
        }
        #expect(lines.contains(#"tcptrace_transitions_total{from="SYN_SENT",to="ESTABLISHED"} 5"#))
        #expect(lines.contains(#"tcptrace_connections_closed_total{role="client",closed_by="local"} 2"#))
        #expect(lines.contains(#"tcptrace_connections_closed_total{role="server",closed_by="remote"} 1"#))
        #expect(!lines.contains { $0.hasPrefix(#"tcptrace_connections_closed_total{role="unknown""#) }, "zero combinations are left out")
        #expect(lines.contains("tcptrace_retransmitted_segments_total 4"))
        #expect(lines.contains("tcptrace_host_retransmitted_segments_total 11"))
        #expect(lines.contains(#"tcptrace_lost_events_total{cause="ring_buffer_full"} 7"#))
        #expect(lines.contains(#"tcptrace_sockets{state="TIME_WAIT"} 1"#))
        #expect(lines.contains(#"tcptrace_sockets{state="ESTABLISHED"} 1"#))
        #expect(lines.contains(#"tcptrace_time_wait_sockets{remote="10.0.0.2:443",local_port=""} 1"#))
        #expect(lines.contains(#"tcptrace_close_wait_lingerers{comm="java",container="web-1"} 1"#))
        #expect(lines.contains(#"tcptrace_state_duration_seconds_count{state="ESTABLISHED"} 1"#))
        #expect(lines.contains(#"tcptrace_connect_duration_seconds_bucket{le="5e-05"} 1"#))
        #expect(lines.contains(#"tcptrace_bpf_program_run_seconds_total{program="handle_set_state"} 1.5"#))
        #expect(lines.contains("process_open_fds 5") && lines.contains("process_max_fds 1024"))
        // Seen closing: the gauge's series goes, the counter stays.
        l.event = .closed
        lingerers.record(l, container: "web-1")
        var s2 = snapshot
        s2.lingerers = lingerers
        let after = PrometheusText.render(s2, process: nil)
        #expect(!after.contains("tcptrace_close_wait_lingerers{"))
        #expect(after.contains(#"tcptrace_close_wait_lingerers_total{comm="java",container="web-1"} 1"#))
        #expect(!after.contains("process_"))
    }

    @Test func noProgramStatsWhileBpfStatsIsOff() {
        let page = PrometheusText.render(
            MetricsSnapshot(summary: summary(), programs: [ProgramRunStats(program: "handle_set_state", runNanoseconds: 0, runs: 0)]), process: nil)
        #expect(!page.contains("tcptrace_bpf_program"))
        #expect(!page.contains("tcptrace_sockets"), "no census yet")
    }

    @Test func lingererLabelsAreBounded() {
        var t = LingererTally()
        for i in 0..<(LingererTally.capacity + 5) {
            let l = LingererRecord(
                event: .lingering, time: WallTime(nanoseconds: 0), identity: SocketIdentity(cookie: UInt64(i), local: .v4(0), localPort: 0, remote: .v4(0), remotePort: 0),
                holder: .init(process: Owner(pid: 1, comm: CommName("app\(i)")), fd: nil), inode: nil, ageNanoseconds: 0,
                ageIsLowerBound: false, unreadBytes: nil)
            t.record(l, container: nil)
            t.record(l, container: nil)  // reported once
        }
        #expect(t.total.count == LingererTally.capacity + 1)
        #expect(t.total[.other] == 5 && t.openNow[.other] == 5)
        #expect(t.openNow.values.reduce(0, +) == UInt64(LingererTally.capacity + 5))
    }

    @Test func processStatsFromProcSelf() throws {
        let stat = "4242 (tcp trace) S 1 4242 4242 0 -1 4194560 2000 0 0 0 150 50 0 0 20 0 3 0 500 123456789 300 18446744073709551615"
        let p = try #require(ProcessStats(procStat: stat, bootTimeSeconds: 1_000_000, ticksPerSecond: 100, pageBytes: 4096, openFDs: 7, maxFDs: 1024))
        #expect(p.cpuSeconds == 2.0)
        #expect(p.startTimeSeconds == 1_000_005)
        #expect(p.virtualBytes == 123_456_789 && p.residentBytes == 300 * 4096)
        #expect(ProcessStats.bootTime(procStat: "cpu  1 2 3\nbtime 1796232373\nprocesses 5\n") == 1_796_232_373)
        #expect(ProcessStats(procStat: "4242 (x) S 1", bootTimeSeconds: 0, ticksPerSecond: 100, pageBytes: 4096, openFDs: nil, maxFDs: nil) == nil)
    }

    @Test func retransmittedSegmentsFromProcNetSnmp() {
        let text = """
            Ip: Forwarding DefaultTTL
            Ip: 1 64
            Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
            Tcp: 1 200 120000 -1 10 5 0 0 2 100 90 17 0 3 0
            Udp: InDatagrams
            Udp: 4
            """
        #expect(retransmittedSegments(procNetSnmp: text) == 17)
        #expect(retransmittedSegments(procNetSnmp: "Ip: A\nIp: 1\n") == nil)
    }

    func respond(_ request: String) -> String? {
        guard case .respond(let bytes) = MetricsHTTP.progress(Array(request.utf8), page: { "page\n" }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func httpAnswersGetAndHeadAndRefusesTheRest() throws {
        let ok = try #require(respond("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(ok.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(ok.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        #expect(ok.contains("Content-Length: 5\r\n") && ok.hasSuffix("\r\n\r\npage\n"))
        #expect(respond("GET /metrics?x=1 HTTP/1.0\n\n")?.hasPrefix("HTTP/1.1 200") == true)
        let head = try #require(respond("HEAD /metrics HTTP/1.1\r\n\r\n"))
        #expect(head.hasPrefix("HTTP/1.1 200") && head.hasSuffix("\r\n\r\n") && head.contains("Content-Length: 5"))
        #expect(respond("GET / HTTP/1.1\r\n\r\n")?.contains("href=\"/metrics\"") == true)
        #expect(respond("GET /other HTTP/1.1\r\n\r\n")?.hasPrefix("HTTP/1.1 404") == true)
        let post = try #require(respond("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"))
        #expect(post.hasPrefix("HTTP/1.1 405") && post.contains("Allow: GET, HEAD\r\n"))
        #expect(respond("garbage\r\n\r\n")?.hasPrefix("HTTP/1.1 400") == true)
        #expect(respond("GET metrics HTTP/1.1\r\n\r\n")?.hasPrefix("HTTP/1.1 400") == true)
        #expect(respond("GET /metrics HTTP/1.1\r\nHost: x\r\n") == nil, "waits for the blank line")
        let long = "GET /" + String(repeating: "a", count: MetricsHTTP.maxHeadBytes) + " HTTP/1.1\r\n"
        #expect(respond(long)?.hasPrefix("HTTP/1.1 431") == true, "too long before the head ends")
        #expect(respond(long + "\r\n")?.hasPrefix("HTTP/1.1 431") == true)
        #expect(String(decoding: MetricsHTTP.busy, as: UTF8.self).hasPrefix("HTTP/1.1 503"))
    }

    @Test func theScheduleRunsMetricsOnlyWhenAsked() {
        var i = PeriodicSchedule.Intervals()
        #expect(PeriodicSchedule(i, start: 0).nextDue(.metrics) == nil)
        i.metrics = 1_000_000_000
        var s = PeriodicSchedule(i, start: 0)
        #expect(s.nextDue(.metrics) == 1_000_000_000)
        #expect(s.takeDue(at: 1_000_000_000).contains(.metrics))
    }
}
