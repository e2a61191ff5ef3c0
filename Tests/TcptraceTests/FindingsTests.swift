import Foundation
import Testing
@testable import TcptraceCore

/// The analyzers over plain evidence (no kernel, no clock): severities, subjects, evidence with
/// sources, merging, the lifecycle of `finding` records, thresholds and the record's schema.
@Suite struct FindingsTests {
    static let t0 = WallTime(nanoseconds: 1_800_000_000_000_000_000)
    static func at(_ s: Double) -> WallTime { WallTime(nanoseconds: t0.nanoseconds + Int64(s * 1e9)) }

    static func lingerer(_ cookie: UInt64, pid: UInt32, comm: String, at s: Double, age: Double, event: LingererRecord.Event = .lingering)
        -> LingererRecord
    {
        LingererRecord(
            event: event, time: at(s),
            identity: SocketIdentity(cookie: cookie, local: .v4(0x7f00_0001), localPort: 8080, remote: .v4(0x7f00_0001), remotePort: 40000),
            holder: .init(process: Owner(pid: pid, comm: CommName(comm)), fd: 5), inode: 1, ageNanoseconds: UInt64(age * 1e9),
            ageIsLowerBound: false, unreadBytes: 3)
    }

    static func client(to port: UInt16, at s: Double, owner: Owner, timeWait: Bool = true, retrans: UInt32 = 0, connectMs: Double = 0.05)
        -> ConnectionRecord
    {
        var id = SocketIdentity(cookie: 1, local: .v4(0x7f00_0001), localPort: 50000, remote: .v4(0x0a00_0007), remotePort: port)
        id.netns = 4_026_531_840
        return ConnectionRecord(
            time: at(s), identity: id, role: .client, owner: owner, timeline: [], connectNanoseconds: UInt64(connectMs * 1e6),
            lifetimeNanoseconds: 1_000_000, closedBy: .local, timeWaitState: timeWait ? .timeWait : nil, retransmissions: retrans,
            smoothedRTTMicroseconds: 100, partial: false)
    }

    /// A storm from as many source addresses as connections (bench/storm.c): every server-side
    /// peer is kept (up to the capacity) with one RTT, one counter each, not a histogram from 0 up.
    @Test func aStormFromManySourcesKeepsOneCounterPerPeer() {
        var e = DiagnosisEvidence()
        for i in 0..<3000 {
            var id = SocketIdentity(
                cookie: UInt64(i), local: .v4(0x7f00_0001), localPort: 24600, remote: .v4(0x7f01_0000 + UInt32(i)), remotePort: 50000)
            id.netns = 4_026_531_840
            e.observe(
                connection: ConnectionRecord(
                    time: Self.at(Double(i) / 1000), identity: id, role: .server, owner: nil, timeline: [], connectNanoseconds: nil,
                    lifetimeNanoseconds: 20_000, closedBy: .remote, timeWaitState: nil, retransmissions: 0,
                    smoothedRTTMicroseconds: 20 + UInt32(i % 7), partial: false))
        }
        #expect(e.peers.count == e.capacity && e.peersNotKept == UInt64(3000 - e.capacity))
        #expect(e.peers.values.allSatisfy { $0.rtt.count == 1 && $0.rtt.storedCounters == 1 && $0.connect.storedCounters == 0 })
    }

    @Test func aQuietHostHasNothingAboveInfo() {
        var e = DiagnosisEvidence()
        e.now = Self.at(30)
        e.start = Self.t0
        e.events = 200
        e.sysctls = TCPSysctls(raw: ["net.ipv4.tcp_tw_reuse": "2", "net.ipv4.tcp_timestamps": "1", "net.ipv4.tcp_fin_timeout": "60"])
        for i in 0..<40 { e.observe(connection: Self.client(to: 443, at: Double(i) * 0.5, owner: Owner(pid: 9, comm: "curl"))) }
        e.observe(listenOverflows: 7, drops: 7, netns: nil, name: "host", at: Self.t0)
        e.observe(listenOverflows: 7, drops: 7, netns: nil, name: "host", at: Self.at(30))
        let f = Diagnosis.findings(e)
        #expect(f.allSatisfy { $0.severity == .info }, "\(f.map(\.title))")
        #expect(PluginStatus(worst: Finding.worst(f)) == .ok)
    }

    @Test func aLeakNamesItsHolderAndTurnsCriticalWithCount() {
        var e = DiagnosisEvidence()
        e.observe(lingerer: Self.lingerer(1, pid: 612, comm: "leaky", at: 10, age: 5))
        e.observe(lingerer: Self.lingerer(2, pid: 612, comm: "leaky", at: 12, age: 5))
        e.note(leakOf: 612, cause: "never closed after read() returned 0", opener: "accept4 <- serve+0x2a (leaky)")
        e.now = Self.at(20)
        var f = Diagnosis.findings(e)
        let leak = try! #require(f.first)
        #expect(leak.kind == .closeWaitLeak && leak.severity == .warning)
        #expect(leak.subject.pid == 612 && leak.subject.name == "leaky (pid 612)")
        #expect(leak.title.contains("cause: never closed") && leak.title.contains("opened at accept4"))
        #expect(leak.evidence.first { $0.name == "close_wait_sockets" }?.value == 2)
        #expect(leak.evidence.first { $0.name == "oldest_age" }?.value == 15)
        #expect(leak.evidence.allSatisfy { !$0.source.isEmpty })
        for i in 3...10 { e.observe(lingerer: Self.lingerer(UInt64(i), pid: 612, comm: "leaky", at: 15, age: 5)) }
        f = Diagnosis.findings(e)
        #expect(f.first?.severity == .critical)
        // Closed sockets leave; when none is left the finding is gone.
        for i in 1...10 { e.observe(lingerer: Self.lingerer(UInt64(i), pid: 612, comm: "leaky", at: 25, age: 20, event: .closed)) }
        #expect(Diagnosis.findings(e).filter { $0.kind == .closeWaitLeak }.isEmpty)
    }

    @Test func timeWaitSourcesMergeIntoOneFindingPerDestination() {
        var e = DiagnosisEvidence()
        let maker = Owner(pid: 77, comm: "storm")
        for i in 0..<600 { e.observe(connection: Self.client(to: 5432, at: Double(i) / 60, owner: maker)) }
        var failed = Self.client(to: 5432, at: 10, owner: maker, timeWait: false)
        failed.identity.localPort = 0
        e.observe(connection: failed, failedConnect: "EADDRNOTAVAIL")
        let range = PortRange(low: 40000, high: 40199)
        let x = PortExhaustion(remote: .v4(0x0a00_0007), remotePort: 5432, timeWait: 180, localAddresses: 1, maxPerLocalAddress: 180, portRange: range)
        var census = Census(time: Self.at(10), sockets: [SocketSnapshot](), portRange: range)
        census.netns = 4_026_531_840
        census.exhaustion = [x]
        e.observe(census: [census])
        e.now = Self.at(10)
        let f = Diagnosis.findings(e).filter { $0.kind == .timeWaitPressure }
        try! #require(f.count == 1, "\(f.map(\.id))")
        #expect(f[0].severity == .critical)
        #expect(f[0].subject.name == "10.0.0.7:5432" && f[0].subject.pid == 77)
        #expect(f[0].advice.hasPrefix("storm (pid 77): ") && f[0].advice.contains("tcp_tw_reuse"))
        let names = Set(f[0].evidence.map(\.name))
        #expect(names.isSuperset(of: ["port_use", "time_wait_per_s", "failed_eaddrnotavail", "usable_ports"]), "\(names)")
        #expect(f[0].fact.contains("TCP_TIMEWAIT_LEN"))
    }

    @Test func listenOverflowCountsGrowthNotHistory() {
        var e = DiagnosisEvidence()
        e.observe(listenOverflows: 500, drops: 500, netns: 1, name: "host", at: Self.t0)
        #expect(Diagnosis.findings(e).isEmpty, "overflows before the start are history, not a finding")
        e.observe(listenOverflows: 530, drops: 531, netns: 1, name: "host", at: Self.at(5))
        let f = Diagnosis.findings(e)
        #expect(f.first?.kind == .listenOverflow && f.first?.severity == .warning)
        #expect(f.first?.evidence.first?.value == 30)
        // An unreadable namespace is said once and leaves this finding intact.
        let first = e.noteMissing("/proc/net/netstat of network namespace 2", why: "No such file", at: Self.at(6))
        let again = e.noteMissing("/proc/net/netstat of network namespace 2", why: "No such file", at: Self.at(7))
        #expect(first && !again, "said once")
        let g = Diagnosis.findings(e)
        #expect(g.contains { $0.kind == .listenOverflow && $0.severity == .warning })
        #expect(g.contains { $0.kind == .evidenceMissing && $0.severity == .info })
    }

    @Test func lostEventsAndPeerQuality() {
        var e = DiagnosisEvidence()
        e.events = 1000
        e.lost.ringBufferFull = 50
        var peer = [Finding]()
        for i in 0..<10 { e.observe(connection: Self.client(to: 80, at: Double(i), owner: Owner(pid: 3, comm: "c"), retrans: 5, connectMs: 1500)) }
        e.now = Self.at(10)
        peer = Diagnosis.findings(e)
        #expect(peer.first { $0.kind == .lostEvents }?.severity == .critical)
        #expect(peer.contains { $0.kind == .retransmissions && $0.severity == .warning })
        #expect(peer.contains { $0.kind == .slowConnects && $0.severity == .warning })
        #expect(!peer.contains { $0.kind == .highRTT })
    }

    @Test func rankingIsMostSevereFirst() {
        func f(_ id: String, _ s: FindingSeverity, _ k: FindingKind) -> Finding {
            Finding(id: id, kind: k, severity: s, subject: .host, title: "", evidence: [], advice: "", fact: "", firstSeen: Self.t0, lastSeen: Self.t0)
        }
        let r = Finding.ranked([f("a", .info, .closeWaitLeak), f("b", .critical, .sysctl), f("c", .warning, .lostEvents), f("d", .critical, .closeWaitLeak)])
        #expect(r.map(\.id) == ["d", "b", "c", "a"])
        #expect(PluginStatus(worst: .critical).rawValue == 2 && PluginStatus(worst: .warning).rawValue == 1 && PluginStatus(worst: nil).rawValue == 0)
        #expect(PluginStatus.unknown.rawValue == 3)
    }

    @Test func trackerOpensChangesAndCloses() {
        var tracker = FindingTracker()
        var e = DiagnosisEvidence()
        e.observe(lingerer: Self.lingerer(1, pid: 5, comm: "x", at: 1, age: 1))
        e.now = Self.at(2)
        var r = tracker.update(Diagnosis.findings(e), at: Self.at(2))
        #expect(r.map(\.event) == [.open] && r.first?.severity == .warning)
        r = tracker.update(Diagnosis.findings(e), at: Self.at(3))
        #expect(r.isEmpty, "unchanged: nothing written")
        e.now = Self.at(400)
        r = tracker.update(Diagnosis.findings(e), at: Self.at(400))
        #expect(r.map(\.event) == [.changed] && r.first?.severity == .critical && r.first?.firstSeen == Self.at(2) || r.first?.firstSeen == Self.at(1))
        e.observe(lingerer: Self.lingerer(1, pid: 5, comm: "x", at: 401, age: 400, event: .closed))
        r = tracker.update(Diagnosis.findings(e), at: Self.at(402))
        #expect(r.map(\.event) == [.closed])
        #expect(tracker.open.isEmpty && tracker.counts.isEmpty)
    }

    @Test func theRecordRoundTripsThroughItsDeclaration() throws {
        var e = DiagnosisEvidence()
        e.observe(lingerer: Self.lingerer(1, pid: 5, comm: "x\"y", at: 1, age: 1))
        e.now = Self.at(2)
        let f = try #require(Diagnosis.findings(e).first)
        let rec = FindingRecord(event: .open, time: Self.at(2), finding: f)
        var line: [UInt8] = []
        JSONLines.append(rec, to: &line)
        let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
        #expect(object?["type"] as? String == "finding" && object?["severity"] as? String == "warning")
        let back = RecordLineParser.read(Array(line.dropLast()), as: FindingRecord.self)
        guard case .success(.some(let r)) = back else {
            Issue.record("not read back: \(back)")
            return
        }
        #expect(r == rec)
        var d: [UInt8] = []
        JSONLines.appendDiagnosis([f], status: .warning, at: Self.at(2), watchedSeconds: 15, to: &d)
        let last = String(decoding: d, as: UTF8.self).split(separator: "\n").last!
        let verdict = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
        #expect(verdict?["status"] as? String == "WARNING" && verdict?["exit_status"] as? Int == 1 && verdict?["warning"] as? Int == 1)
    }

    @Test func thresholdsAreSetByNameAndRefuseNonsense() throws {
        var t = FindingThresholds()
        try t.set("port_use_warning=40")
        #expect(t.portUseWarningPercent == 40)
        #expect(throws: ValueParseError.self) { try t.set("port_use=40") }
        #expect(throws: ValueParseError.self) { try t.set("port_use_warning=-1") }
        #expect(throws: ValueParseError.self) { try t.set("port_use_warning") }
        #expect(Set(FindingThresholds.all.map(\.name)).count == FindingThresholds.all.count)
        // A lower leak threshold makes the same evidence critical.
        var e = DiagnosisEvidence()
        e.observe(lingerer: Self.lingerer(1, pid: 5, comm: "x", at: 1, age: 1))
        e.now = Self.at(2)
        try t.set("leak_critical_sockets=1")
        #expect(Diagnosis.findings(e, thresholds: t).first?.severity == .critical)
    }

    @Test func topListsTheOpenFindingsAboveInfo() {
        var model = TopModel(closeWaitThresholdNanoseconds: 5_000_000_000, limit: 100)
        var e = DiagnosisEvidence()
        e.observe(lingerer: Self.lingerer(1, pid: 5, comm: "leaky", at: 1, age: 1))
        e.now = Self.at(2)
        var tracker = FindingTracker()
        for r in tracker.update(Diagnosis.findings(e), at: Self.at(2)) { model.note(r) }
        let snap = model.frame(summary: RunSummary(start: Self.t0), lost: LostEvents(), now: Self.at(3), monotonic: 1, isLingering: { _ in true })
        let lines = TopScreen(width: 200, height: nil, color: false, utcOffsetSeconds: 0).lines(snap)
        #expect(lines.contains { $0.hasPrefix("WARNING close_wait_leak: leaky (pid 5) leaks sockets in CLOSE_WAIT") }, "\(lines)")
        e.observe(lingerer: Self.lingerer(1, pid: 5, comm: "leaky", at: 4, age: 3, event: .closed))
        for r in tracker.update(Diagnosis.findings(e), at: Self.at(4)) { model.note(r) }
        let after = TopScreen(width: 200, height: nil, color: false, utcOffsetSeconds: 0)
            .lines(model.frame(summary: RunSummary(start: Self.t0), lost: LostEvents(), now: Self.at(5), monotonic: 2, isLingering: { _ in false }))
        #expect(!after.contains { $0.contains("close_wait_leak") })
    }

    @Test func reportProgressLineSaysBytesRateAndTimeLeft() {
        // The line's text (drawn only on a terminal, which a test does not have).
        #expect(ReportProgressText.line(read: 250_000_000, total: 1_000_000_000, rate: 100_000_000, left: 7.5)
            == "report: 250.0 MB of 1.0 GB (25 %), 100.0 MB/s, 8 s left")
    }
}

extension FindingsTests {
    @Test func leakGroupsGiveCauseOpenerAndHoldersNoLingererNamed() {
        var e = DiagnosisEvidence()
        e.observe(lingerer: Self.lingerer(1, pid: 612, comm: "leaky", at: 10, age: 5))
        e.note(leakGroups: [
            .init(
                holder: Owner(pid: 612, comm: "leaky"), container: nil, netns: 1, endpoint: "server 127.0.0.1:8080", cause: "unread: Recv-Q > 0",
                opener: "handle_client (leak-service.c:40)", sockets: 4, oldestAgeNanoseconds: 30_000_000_000, newPerMinute: 12, time: Self.at(20)),
            .init(
                holder: Owner(pid: 700, comm: "slowacc"), container: nil, netns: 1, endpoint: "server 127.0.0.1:9000", cause: "not_accepted",
                opener: nil, sockets: 2, oldestAgeNanoseconds: 1_000_000_000, newPerMinute: 0, time: Self.at(20)),
        ])
        e.now = Self.at(20)
        let f = Diagnosis.findings(e).filter { $0.kind == .closeWaitLeak }
        let leaky = try! #require(f.first { $0.subject.pid == 612 })
        #expect(leaky.title.contains("4 open") && leaky.title.contains("cause: unread") && leaky.title.contains("opened at handle_client"))
        #expect(leaky.evidence.first { $0.name == "oldest_age" }?.value == 30)
        #expect(f.contains { $0.subject.pid == 700 && $0.title.contains("not_accepted") })
        // The next evaluation's groups replace these: a group gone is no longer counted.
        e.note(leakGroups: [])
        #expect(!Diagnosis.findings(e).contains { $0.subject.pid == 700 })
    }
}

extension FindingsTests {
    @Test func diagnoseTextSaysTheVerdictThenEachFindingWithEvidenceAndFix() {
        var e = DiagnosisEvidence()
        e.observe(lingerer: Self.lingerer(1, pid: 612, comm: "leaky", at: 10, age: 5))
        e.now = Self.at(20)
        let f = Diagnosis.findings(e)
        var out: [UInt8] = []
        TextLines(utcOffsetSeconds: 0).appendDiagnosis(f, status: PluginStatus(worst: Finding.worst(f)), watchedSeconds: 15, to: &out)
        let text = String(decoding: out, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "TCP WARNING: 0 critical, 1 warning, 0 info (watched 15 s)", "\(text)")
        #expect(lines[2].hasPrefix("1. [WARNING] close_wait_leak: leaky (pid 612) leaks sockets in CLOSE_WAIT: 1 open, oldest 15 s"), "\(text)")
        #expect(lines[3] == "   subject: process leaky (pid 612)")
        #expect(text.contains("     close_wait_sockets = 1 sockets  [lingerer records: in CLOSE_WAIT past the threshold, still open]"), "\(text)")
        #expect(text.contains("   fix: fix leaky to close() the socket"))
        #expect(text.contains("   why: CLOSE_WAIT means the peer closed"))
        var quiet: [UInt8] = []
        TextLines(utcOffsetSeconds: 0).appendDiagnosis([], status: .ok, watchedSeconds: 30, to: &quiet)
        #expect(String(decoding: quiet, as: UTF8.self) == "TCP OK: nothing found (watched 30 s)\n")
    }
}

extension FindingsTests {
    @Test func anUnknownHolderIsNoLeakOfItsOwnWhenTheRunGroupsLeaks() {
        var e = DiagnosisEvidence()
        var orphan = Self.lingerer(9, pid: 0, comm: "?", at: 5, age: 5)
        orphan.holder = nil
        e.observe(lingerer: orphan)
        e.now = Self.at(10)
        #expect(Diagnosis.findings(e).contains { $0.subject.pid == 0 }, "without leak groups: an unknown process")
        e.note(leakGroups: [
            .init(
                holder: Owner(pid: 44, comm: "svc"), container: nil, netns: nil, endpoint: "server 127.0.0.1:80", cause: "never accepted",
                opener: nil, sockets: 1, oldestAgeNanoseconds: 5_000_000_000, newPerMinute: 1, time: Self.at(10))
        ])
        let f = Diagnosis.findings(e)
        #expect(!f.contains { $0.subject.pid == 0 } && f.contains { $0.subject.pid == 44 }, "the listener's process holds it")
    }
}
