import Testing
@testable import TcptraceCore

/// Failed connects, TIME_WAIT makers and local-port pressure from plain connection records.
@Suite struct ChurnTests {
    static let server = IPAddress("10.0.0.9")!
    static let local = IPAddress("10.0.0.1")!

    /// A client connection to 10.0.0.9:5432 closed at `second` (+ `ms`), into TIME_WAIT unless failed.
    static func client(
        at second: Int64, ms: Int64 = 0, pid: UInt32 = 7, comm: String = "app", error: ConnectError? = nil, port: UInt16 = 5432,
        netns: UInt32? = 1
    ) -> ConnectionRecord {
        var c = ConnectionRecord()
        c.time = WallTime(nanoseconds: 1_800_000_000_000_000_000 + second * 1_000_000_000 + ms * 1_000_000)
        c.identity = SocketIdentity(
            cookie: UInt64(second * 1000 + ms), local: local, localPort: error == .addressNotAvailable ? 0 : 40000, remote: server,
            remotePort: port, netns: netns, cgroup: 5)
        c.role = .client
        c.owner = Owner(pid: pid, comm: CommName(comm))
        c.connectError = error
        c.closedBy = error == nil ? .local : .reset
        c.timeWaitState = error == nil ? .timeWait : nil
        c.lifetimeNanoseconds = 2_000_000
        return c
    }

    /// The windowed sums agree with adding up the counts kept per second by hand, across the
    /// ring's wrap, with stale slots and windows longer than the ring.
    @Test func secondSlotsSumWhatWasAddedInTheWindow() {
        var slots = SecondSlots(stride: 3)
        var kept: [Int64: [UInt32]] = [:]
        var rng = RecordLineFuzzTests.SplitMix64(state: 24)  // seeded: a failure is reproducible
        var now: Int64 = 1_800_000_000 + 57
        for _ in 0..<2_000 {
            now += Int64.random(in: 0...3, using: &rng)
            let field = Int.random(in: 0..<3, using: &rng)
            let n = UInt32.random(in: 1...5, using: &rng)
            slots.add(field, second: now, n)
            kept[now, default: [0, 0, 0]][field] += n
            for window in [1, 10, 59, 60, 90] {
                let expected = kept.filter { $0.key > now - Int64(min(window, SecondSlots.span)) }
                    .reduce(UInt64(0)) { $0 + UInt64($1.value[field]) }
                #expect(slots.sum(field, window: window, now: now) == expected, "window \(window) at \(now)")
            }
        }
    }

    @Test func failedConnectReasonsFromTheLastTransition() {
        // No port and no error: EADDRNOTAVAIL; the kernel's error otherwise; an abort is no failure.
        #expect(ConnectError.of(closingFrom: .synSent, socketError: 0, localPort: 0) == .addressNotAvailable)
        #expect(ConnectError.of(closingFrom: .synSent, socketError: 111, localPort: 40000) == .connectionRefused)
        #expect(ConnectError.of(closingFrom: .synSent, socketError: 110, localPort: 40000) == .timedOut)
        #expect(ConnectError.of(closingFrom: .synSent, socketError: 0, localPort: 40000) == nil)
        #expect(ConnectError.of(closingFrom: .established, socketError: 104, localPort: 40000) == nil)
        #expect(ConnectError(errno: 12) == .other)
    }

    @Test func theTableTellsAFailedConnectFromItsTransitions() {
        var table = ConnectionTable()
        let id = SocketIdentity(cookie: 9, local: Self.local, localPort: 0, remote: Self.server, remotePort: 5432)
        let t0 = WallTime(nanoseconds: 1_000_000_000)
        _ = table.apply(Transition(time: t0, identity: id, old: .close, new: .synSent, nanosecondsInOld: nil, pid: 7, comm: "app"))
        var close = Transition(time: t0, identity: id, old: .synSent, new: .close, nanosecondsInOld: 50_000, pid: 7, comm: "app")
        close.counters = TCPCounters(bytesAcked: 0, bytesReceived: 0, totalRetransmissions: 0, smoothedRTTMicroseconds: 0, socketError: 0)
        #expect(table.apply(close).connection?.connectError == .addressNotAvailable)

        var refused = id
        refused.cookie = 10
        refused.localPort = 40001
        _ = table.apply(Transition(time: t0, identity: refused, old: .close, new: .synSent, nanosecondsInOld: nil, pid: 7, comm: "app"))
        close.identity = refused
        close.counters?.socketError = 111
        #expect(table.apply(close).connection?.connectError == .connectionRefused)
    }

    @Test func makersAreChargedPerOwnerAndDestinationOverWindows() throws {
        var m = TimeWaitMakers()
        for s in 0..<30 { for k in 0..<2 { m.record(Self.client(at: Int64(s), ms: Int64(k * 100))) } }  // 2/s for 30 s
        m.record(Self.client(at: 29, error: .addressNotAvailable))
        let views = m.views(now: Self.client(at: 29).time)
        #expect(views.count == 1)
        let v = try #require(views.first)
        #expect(v.key.owner.comm == CommName("app") && v.key.remotePort == 5432)
        #expect(abs(v.short.timeWaitPerSecond - 2) < 0.001 && abs(v.long.timeWaitPerSecond - 2) < 0.001, "\(v)")
        #expect(v.timeWaitAlive == 60 && v.totals.timeWait == 60 && v.totals.failed == 1 && v.long.failed == 1)
        #expect(v.long.closedByUsPercent.map { abs($0 - 6000.0 / 61) < 0.01 } == true)
        let median = try #require(v.short.medianLifetimeNanoseconds)
        #expect(median > 1_600_000 && median < 2_500_000, "\(median)")
        // A minute later nothing is alive, and the row is gone from the live view (not the totals).
        #expect(m.views(now: Self.client(at: 100).time).isEmpty)
        #expect(m.totals.first?.totals.timeWait == 60)
    }

    @Test func makersAreBoundedTheRestIsOther() {
        var m = TimeWaitMakers(capacity: 2)
        for pid in UInt32(1)...5 { m.record(Self.client(at: 0, pid: pid)) }
        let views = m.views(now: Self.client(at: 0).time)
        #expect(views.count == 3 && views.last?.isOther == true && views.last?.totals.connections == 3)
        // A pair idle for 60 s gives its place to a new one; its totals go to `other`.
        m.record(Self.client(at: 70, pid: 9))
        let totals = m.totals
        #expect(totals.count == 3)
        #expect(totals.contains { $0.key.owner.pid == 9 })
        #expect(totals.last?.isOther == true && totals.last?.totals.connections == 4)
        // The other idle pair goes too; then both pairs are fresh and the rest is `other` again.
        m.record(Self.client(at: 70, pid: 10))
        for (second, pid) in [(Int64(71), UInt32(11)), (72, 12), (129, 13)] { m.record(Self.client(at: second, pid: pid)) }
        let later = m.totals
        #expect(Set(later.filter { !$0.isOther }.map(\.key.owner.pid)) == [9, 10], "\(later.map(\.key.owner.pid))")
        #expect(later.last?.isOther == true && later.last?.totals.connections == 8)
        // 60 s after both were last active, a new pair takes a place again.
        m.record(Self.client(at: 130, pid: 14))
        #expect(m.totals.contains { $0.key.owner.pid == 14 })
    }

    @Test func pressureWarnsAt50And80PercentAndOnTheForecast() {
        let ports = NamespacePorts(range: PortRange(low: 40000, high: 40199), reserved: 0, twReuse: 0, timestamps: 1)
        var tracker = ChurnTracker()
        tracker.setPorts(ports, netns: 1)
        var levels: [(Int, PortPressure.Level)] = []
        var n = 0
        // 20/s: 1200 ports a minute against 200: the forecast says so within the first seconds.
        for s in 0..<10 {
            for k in 0..<20 {
                let c = Self.client(at: Int64(s), ms: Int64(k * 50))
                tracker.record(c)
                n += 1
                for w in tracker.pressureWarnings(c) { levels.append((n, w.level)) }
            }
        }
        #expect(levels.map(\.1) == [.forecast, .half, .high], "\(levels)")
        #expect(levels.first { $0.1 == .half }?.0 == 100 && levels.first { $0.1 == .high }?.0 == 160)
        #expect(tracker.warnings == 3)
    }

    /// A pool's open connections hold their ports: the census's open sockets count as held from
    /// the census on, shrink what the churn can use, and a census of another namespace leaves them.
    @Test func openSocketsOfTheCensusAreHeldPorts() {
        let ports = NamespacePorts(range: PortRange(low: 40000, high: 40199), reserved: 0, twReuse: 0, timestamps: 1)
        var tracker = ChurnTracker()
        tracker.setPorts(ports, netns: 1)
        var open = CensusRecord.Exhaustion()
        (open.remote, open.remotePort, open.open, open.maxPerLocalAddress) = (Self.server, 5432, 120, 150)
        var other = open
        other.remotePort = 9999  // another destination: not this one's
        tracker.observe(censusOf: 1, [open, other])
        // One connection a second: 60 timewait sockets a minute would be 30 % alone; with the
        // pool's 120 the first connection is past 50 %.
        let first = Self.client(at: 0)
        tracker.record(first)
        let warnings = tracker.pressureWarnings(first)
        #expect(warnings.map(\.level) == [.half], "\(warnings)")
        #expect(warnings.first?.held == 121 && warnings.first?.open == 120)
        // The steady state is what the pool leaves: 80 ports / 60 s.
        #expect(abs((warnings.first?.exhaustedAtPerSecond ?? 0) - 80.0 / 60) < 1e-9)
        // At most the busiest source's: 30 open sockets spread so that one source holds 10.
        (open.open, open.maxPerLocalAddress) = (30, 10)
        tracker.observe(censusOf: 1, [open])
        #expect(tracker.readings(now: first.time).first?.open == 10)
        // Another namespace's census leaves namespace 1's; a new census of 1 without it, clears it.
        tracker.observe(censusOf: 2, [])
        #expect(tracker.readings(now: first.time).first?.open == 10)
        tracker.observe(censusOf: 1, [])
        #expect(tracker.readings(now: first.time).first?.open == 0 && tracker.readings(now: first.time).first?.held == 1)
    }

    @Test func reuseShortensTheHoldToOneSecond() {
        let ports = NamespacePorts(range: PortRange(low: 40000, high: 40199), reserved: 0, twReuse: 1, timestamps: 1)
        var p = PortPressure()
        var last: PortPressure.Reading?
        for s in 0..<30 { for k in 0..<20 { last = p.record(Self.client(at: Int64(s), ms: Int64(k * 50)), ports: ports)?.0 } }
        #expect(last?.reuse == true && last?.held == 20 && last?.forecastSeconds == nil)
        #expect(last.map { abs($0.exhaustedAtPerSecond - 200) < 0.001 } == true)
        // 2 (the default) applies to loopback only; without timestamps reuse never applies.
        let two = NamespacePorts(range: PortRange(low: 40000, high: 40199), reserved: 0, twReuse: 2, timestamps: 1)
        #expect(!two.reuseApplies(local: Self.local, remote: Self.server))
        #expect(two.reuseApplies(local: IPAddress("127.0.0.1")!, remote: IPAddress("127.0.0.1")!))
        #expect(two.reuseApplies(local: IPAddress("::1")!, remote: IPAddress("::1")!))
        var off = ports
        off.timestamps = 0
        #expect(!off.reuseApplies(local: Self.local, remote: Self.server))
    }

    @Test func reservedPortsAreCountedWithinTheRange() {
        let r = PortRange(low: 40000, high: 40199)
        #expect(NamespacePorts.reservedCount("", in: r) == 0)
        #expect(NamespacePorts.reservedCount("8080,40000-40009,40005-40019,40199\n", in: r) == 21)
        #expect(NamespacePorts.reservedCount("40x", in: r) == nil)
        #expect(NamespacePorts(range: r, reserved: 21, twReuse: nil, timestamps: nil).usable == 179)
    }

    @Test func adviceIsTrueAndNeverRecycleNorFinTimeout() {
        let ports = NamespacePorts(range: PortRange(low: 40000, high: 40199), reserved: 0, twReuse: 2, timestamps: 1)
        var p = PortPressure()
        let r = p.record(Self.client(at: 0), ports: ports)!.0
        let a = TimeWaitFacts.advice(maker: Owner(pid: 7, comm: "app"), reading: r)
        for needle in ["app (pid 7)", "pooling", "tcp_tw_reuse=1", "2: loopback only", "ip_local_port_range", "IP_BIND_ADDRESS_NO_PORT", "more destination"] {
            #expect(a.contains(needle), "\(needle)")
        }
        #expect(!a.contains("recycle") && !a.contains("fin_timeout"))
        // doctor says the same facts.
        let facts = SysctlAudit.facts(TCPSysctls())
        #expect(facts.first { $0.sysctl == "net.ipv4.tcp_tw_reuse" }?.fact == TimeWaitFacts.twReuse)
        #expect(facts.first { $0.sysctl == "net.ipv4.tcp_fin_timeout" }?.fact == TimeWaitFacts.finTimeout)
    }

    @Test func recordsRoundTripAndTheSummarySaysIt() throws {
        var tracker = ChurnTracker()
        tracker.setPorts(NamespacePorts(range: PortRange(low: 40000, high: 40199), reserved: 0, twReuse: 0, timestamps: 1), netns: 1)
        var warning: PortPressureRecord?
        for k in 0..<120 {
            let c = Self.client(at: Int64(k / 20), ms: Int64(k % 20 * 50))
            tracker.record(c)
            if let w = tracker.pressureWarnings(c).first { warning = w }
        }
        tracker.record(Self.client(at: 6, error: .addressNotAvailable))
        let w = try #require(warning)
        var line: [UInt8] = []
        JSONLines.append(w, to: &line)
        line.removeLast()
        // Read back and written again: the same line (rates are written with 3 decimals).
        let back = try #require(try line.withUnsafeBufferPointer { RecordLineParser.read($0, as: PortPressureRecord.self) }.get())
        var again: [UInt8] = []
        JSONLines.append(back, to: &again)
        #expect(String(decoding: again.dropLast(), as: UTF8.self) == String(decoding: line, as: UTF8.self))
        #expect(back.level == w.level && back.maker == w.maker && back.advice == w.advice && back.held == w.held)

        let churn = try #require(tracker.churnRecords(now: Self.client(at: 6).time).first)
        line = []
        JSONLines.append(churn, to: &line)
        line.removeLast()
        let churnBack = try #require(try line.withUnsafeBufferPointer { RecordLineParser.read($0, as: ChurnRecord.self) }.get())
        again = []
        JSONLines.append(churnBack, to: &again)
        #expect(again.dropLast() == line[...])

        var s = RunSummary(start: Self.client(at: 0).time)
        s.churn = tracker
        line = []
        JSONLines.append(s, to: &line)
        let text = String(decoding: line, as: UTF8.self)
        #expect(text.contains(#""failed_connects":1,"failed_connects_by_reason":{"EADDRNOTAVAIL":1},"time_wait_makers":[{"owner":{"pid":7,"comm":"app"},"other":false"#))
        var out: [UInt8] = []
        TextLines(utcOffsetSeconds: 0).appendSummary(s, to: &out)
        let summary = String(decoding: out, as: UTF8.self)
        #expect(summary.contains("failed connects: 1 (EADDRNOTAVAIL 1)"))
        #expect(summary.contains("TIME_WAIT makers"))
        #expect(summary.contains("app (pid 7)"))
    }

    @Test func metricsAreBoundedAndSayTheReasons() {
        var s = RunSummary(start: Self.client(at: 0).time)
        s.churn.setPorts(NamespacePorts(range: PortRange(low: 40000, high: 40199), reserved: 0, twReuse: 0, timestamps: 1), netns: 1)
        for port in UInt16(1)...30 {
            for k in 0..<5 {
                let c = Self.client(at: 1, ms: Int64(k), pid: UInt32(port), port: port)
                s.record(c)
                _ = s.churn.pressureWarnings(c)
            }
        }
        s.record(Self.client(at: 1, error: .addressNotAvailable))
        s.end = Self.client(at: 2).time
        let page = PrometheusText.render(MetricsSnapshot(summary: s), process: nil)
        #expect(page.contains(#"tcptrace_failed_connects_total{reason="EADDRNOTAVAIL"} 1"#))
        #expect(page.contains(#"tcptrace_failed_connects_total{reason="ETIMEDOUT"} 0"#))
        let lines = page.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("tcptrace_local_port_use_ratio{") }.count == 10)
        #expect(lines.filter { $0.hasPrefix("tcptrace_time_wait_made_alive{") }.count == 10)
        #expect(page.contains(#"tcptrace_local_port_use_ratio{netns="1",laddr="10.0.0.1",raddr="10.0.0.9",rport="#))
    }

    @Test func topShowsTheMakersTheirPressureAndTheFailedConnects() {
        var s = RunSummary(start: Self.client(at: 0).time)
        s.churn.setPorts(NamespacePorts(range: PortRange(low: 40000, high: 40199), reserved: 0, twReuse: 0, timestamps: 1), netns: 1)
        for k in 0..<150 {
            let c = Self.client(at: Int64(k / 50), ms: Int64(k % 50 * 20))
            s.record(c)
            _ = s.churn.pressureWarnings(c)
        }
        s.record(Self.client(at: 3, error: .addressNotAvailable))
        var model = TopModel(closeWaitThresholdNanoseconds: 1, limit: 100)
        let snapshot = model.frame(summary: s, lost: LostEvents(), now: Self.client(at: 3).time, monotonic: 1, isLingering: { _ in false })
        let lines = TopScreen(width: 160, height: nil, color: false, utcOffsetSeconds: 0).lines(snapshot)
        #expect(lines.contains { $0.contains("FAILED CONNECTS 1: EADDRNOTAVAIL 1") }, "\(lines)")
        #expect(lines.contains { $0.contains("MAKER app (pid 7) -> 10.0.0.9:5432  150 alive") && $0.contains("ports 75 % of 200") }, "\(lines)")
    }

    @Test func censusUseIsAgainstTheUsablePorts() {
        var c = Census(time: Self.client(at: 0).time, sockets: [SocketSnapshot]())
        c.netns = 1
        c.portRange = PortRange(low: 40000, high: 40199)
        c.exhaustion = [
            PortExhaustion(
                remote: Self.server, remotePort: 5432, timeWait: 90, localAddresses: 1, maxPerLocalAddress: 90,
                portRange: PortRange(low: 40000, high: 40199))
        ]
        #expect(c.exhaustion[0].usePercent == 45)
        c.ports = NamespacePorts(range: PortRange(low: 40000, high: 40199), reserved: 20, twReuse: 0, timestamps: 1)
        #expect(c.exhaustion[0].usePercent == 50)
        var out: [UInt8] = []
        JSONLines.append(c, to: &out)
        #expect(String(decoding: out, as: UTF8.self).contains(#""size":200,"usable":180,"tw_reuse":0}"#))
    }
}
