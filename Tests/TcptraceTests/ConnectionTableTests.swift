import Testing
@testable import TcptraceCore

/// Builds transitions of one socket on a fake clock (ms since an arbitrary origin).
struct Script {
    var cookie: UInt64
    var local = IPAddress("127.0.0.1")!
    var lport: UInt16
    var remote = IPAddress("127.0.0.1")!
    var rport: UInt16
    var owner: Owner? = Owner(pid: 7, comm: "app")
    var lastMs: Double? = nil

    static func at(_ ms: Double) -> WallTime { WallTime(nanoseconds: 1_795_614_010_000_000_000 + Int64(ms * 1_000_000)) }

    mutating func go(_ old: TCPState, _ new: TCPState, at ms: Double, rcvQueue: UInt32? = nil, counters: TCPCounters? = nil) -> Transition {
        defer { lastMs = ms }
        return Transition(
            time: Self.at(ms), identity: SocketIdentity(cookie: cookie, local: local, localPort: old == .close && new == .synSent ? 0 : lport, remote: remote, remotePort: rport),  old: old, new: new,
            nanosecondsInOld: lastMs.map { UInt64((ms - $0) * 1_000_000) }, pid: 0, comm: "swapper/0", owner: owner,
            inode: 1000 + cookie, receiveQueue: rcvQueue, counters: counters)
    }
}

func counters(acked: UInt64, received: UInt64) -> TCPCounters {
    TCPCounters(bytesAcked: acked, bytesReceived: received, totalRetransmissions: 0, smoothedRTTMicroseconds: 40)
}

@Suite struct ConnectionTableTests {
    @Test func clientTimelineLatencyCloserAndTimeWait() throws {
        var table = ConnectionTable()
        var c = Script(cookie: 1, lport: 40000, rport: 80)
        var out: [ConnectionTable.Outcome] = []
        out.append(table.apply(c.go(.close, .synSent, at: 0)))
        out.append(table.apply(c.go(.synSent, .established, at: 0.5)))
        out.append(table.apply(c.go(.established, .finWait1, at: 100)))
        out.append(table.apply(c.go(.finWait1, .finWait2, at: 100.25)))
        out.append(table.apply(c.go(.finWait2, .close, at: 150, rcvQueue: 1, counters: counters(acked: 1000 + 2, received: 500 + 1))))
        #expect(out.dropLast().allSatisfy { $0.connection == nil })
        let r = try #require(out.last?.connection)
        #expect(r.role == .client)
        #expect(r.timeline.map(\.state) == [.synSent, .established, .finWait1, .finWait2])
        #expect(r.timeline.map(\.nanoseconds) == [500_000, 99_500_000, 250_000, 49_750_000])
        #expect(r.connectNanoseconds == 500_000)
        #expect(r.lifetimeNanoseconds == 150_000_000)
        #expect(r.closedBy == .local)
        #expect(r.timeWaitState == .timeWait)
        #expect(r.bytesSent == 1000 && r.bytesReceived == 500)
        #expect(r.identity.localPort == 40000, "the port learned after SYN_SENT is kept")
        #expect(!r.partial)
        #expect(table.count == 0, "closed connections leave the table")
    }

    @Test func serverClosedByRemoteNoTimeWait() throws {
        var table = ConnectionTable()
        var s = Script(cookie: 2, lport: 80, rport: 40000)
        _ = table.apply(s.go(.listen, .synRecv, at: 0))
        _ = table.apply(s.go(.synRecv, .established, at: 0.01))
        _ = table.apply(s.go(.established, .closeWait, at: 100, rcvQueue: 1))
        _ = table.apply(s.go(.closeWait, .lastAck, at: 101))
        let r = try #require(table.apply(s.go(.lastAck, .close, at: 101.1, rcvQueue: 0, counters: counters(acked: 500 + 1, received: 1000 + 1))).connection)
        #expect(r.role == .server)
        #expect(r.timeline.map(\.state) == [.synRecv, .established, .closeWait, .lastAck])
        #expect(r.closedBy == .remote)
        #expect(!r.timeWait)
        #expect(r.connectNanoseconds == nil)
        #expect(r.bytesSent == 500 && r.bytesReceived == 1000)
    }

    @Test func orphanedFinWait2IsAFinWait2Timewait() throws {
        var table = ConnectionTable()
        var c = Script(cookie: 3, lport: 40001, rport: 80)
        _ = table.apply(c.go(.close, .synSent, at: 0))
        _ = table.apply(c.go(.synSent, .established, at: 1))
        _ = table.apply(c.go(.established, .finWait1, at: 2))
        _ = table.apply(c.go(.finWait1, .finWait2, at: 3))
        let r = try #require(table.apply(c.go(.finWait2, .close, at: 3.01, rcvQueue: 0, counters: counters(acked: 2, received: 0))).connection)
        #expect(r.timeWait, "the port is held by a timewait socket")
        #expect(r.timeWaitState == .finWait2, "no FIN from the peer yet: an orphaned FIN_WAIT2")
        #expect(r.bytesSent == 0 && r.bytesReceived == 0)
    }

    @Test func refusedConnectIsAReset() throws {
        var table = ConnectionTable()
        var c = Script(cookie: 4, lport: 40002, rport: 81)
        _ = table.apply(c.go(.close, .synSent, at: 0))
        let r = try #require(table.apply(c.go(.synSent, .close, at: 0.1)).connection)
        #expect(r.closedBy == .reset)
        #expect(r.connectNanoseconds == nil)
        #expect(r.timeline.map(\.state) == [.synSent])
    }

    @Test func partialConnectionsSaySo() throws {
        var table = ConnectionTable()
        var c = Script(cookie: 5, lport: 40003, rport: 80)
        c.lastMs = nil
        _ = table.apply(c.go(.established, .finWait1, at: 10))
        _ = table.apply(c.go(.finWait1, .finWait2, at: 11))
        let r = try #require(table.apply(c.go(.finWait2, .close, at: 12, rcvQueue: 1)).connection)
        #expect(r.partial)
        #expect(r.role == .unknown)
        #expect(r.lifetimeNanoseconds == nil)
        #expect(r.timeline.first?.nanoseconds == nil, "time in ESTABLISHED before the tracer is unknown")
    }

    @Test func lingererCrossesTheThresholdOnceThenCloses() throws {
        var table = ConnectionTable(lingerThresholdNanoseconds: 1_000_000_000)
        var s = Script(cookie: 6, lport: 80, rport: 40004)
        _ = table.apply(s.go(.listen, .synRecv, at: 0))
        _ = table.apply(s.go(.synRecv, .established, at: 1))
        _ = table.apply(s.go(.established, .closeWait, at: 10, rcvQueue: 4))
        #expect(table.dueLingerers(now: Script.at(1009.999)).isEmpty)
        let due = table.dueLingerers(now: Script.at(1010))
        #expect(due.count == 1)
        let l = try #require(due.first)
        #expect(l.event == .lingering && l.identity.cookie == 6 && l.ageNanoseconds == 1_000_000_000 && !l.ageIsLowerBound)
        #expect(l.unreadBytes == 3, "rcv_queue counts the FIN")
        #expect(l.holder == .init(process: Owner(pid: 7, comm: "app"), fd: nil))
        #expect(table.dueLingerers(now: Script.at(5000)).isEmpty, "reported once")
        let closed = table.apply(s.go(.closeWait, .lastAck, at: 7010)).lingererClosed
        #expect(closed?.event == .closed)
        #expect(closed?.ageNanoseconds == 7_000_000_000)
    }

    @Test func socketThatLeavesCloseWaitInTimeIsNotALingerer() {
        var table = ConnectionTable(lingerThresholdNanoseconds: 1_000_000_000)
        var s = Script(cookie: 7, lport: 80, rport: 40005)
        _ = table.apply(s.go(.listen, .synRecv, at: 0))
        _ = table.apply(s.go(.synRecv, .established, at: 1))
        _ = table.apply(s.go(.established, .closeWait, at: 10, rcvQueue: 1))
        #expect(table.apply(s.go(.closeWait, .lastAck, at: 500)).lingererClosed == nil)
        #expect(table.dueLingerers(now: Script.at(5000)).isEmpty)
    }

    @Test func closeWaitBookkeepingStaysProportionalToSocketsInCloseWait() {
        var table = ConnectionTable(lingerThresholdNanoseconds: 30_000_000_000)
        for i in 0..<100_000 {
            var s = Script(cookie: UInt64(i), lport: 80, rport: UInt16(1024 + i % 60000))
            let t0 = Double(i) * 0.01
            _ = table.apply(s.go(.listen, .synRecv, at: t0))
            _ = table.apply(s.go(.synRecv, .established, at: t0))
            _ = table.apply(s.go(.established, .closeWait, at: t0, rcvQueue: 1))
            _ = table.apply(s.go(.closeWait, .lastAck, at: t0))
            _ = table.apply(s.go(.lastAck, .close, at: t0))
        }
        #expect(table.count == 0)
        #expect(table.closeWaitPending.isEmpty)
        #expect(table.closeWaitQueue.count - table.closeWaitHead <= 2048, "stale items are compacted away")
        #expect(table.nextLingererDue == nil)
    }

    @Test func vanishedSocketsAreDroppedWhenIdle() {
        var table = ConnectionTable()
        var a = Script(cookie: 1, lport: 1000, rport: 80)
        var b = Script(cookie: 2, lport: 1001, rport: 80)
        var c = Script(cookie: 3, lport: 1002, rport: 80)
        _ = table.apply(a.go(.close, .synSent, at: 0))  // its CLOSE will be "lost"
        _ = table.apply(b.go(.close, .synSent, at: 0))  // still alive in the kernel
        _ = table.apply(c.go(.close, .synSent, at: 9000))  // gone, but active too recently
        #expect(table.removeVanished(alive: [2], idleBefore: Script.at(5000)) == 1)
        #expect(table.owner(of: 1) == nil && table.owner(of: 2) != nil && table.owner(of: 3) != nil)
    }

    /// A reconciliation asks about the idle entries only, and strikes off those the dump finds:
    /// its memory is the table's, not the host's sockets'.
    @Test func reconciliationAsksAboutIdleEntriesOnly() {
        var table = ConnectionTable()
        for i in 1...5 as ClosedRange<UInt64> {
            var s = Script(cookie: i, lport: UInt16(1000 + i), rport: 80)
            _ = table.apply(s.go(.close, .synSent, at: i <= 3 ? 0 : 9000))
        }
        var suspects = table.idleCookies(idleBefore: Script.at(5000))
        #expect(suspects == [1, 2, 3])
        for alive: UInt64 in [2, 4, 77] { suspects.remove(alive) }  // what a dump of the host found
        #expect(table.remove(vanished: suspects.union([99])) == 2)  // 99: no entry, not counted
        #expect(table.count == 3 && table.owner(of: 1) == nil && table.owner(of: 3) == nil && table.owner(of: 2) != nil)
    }

    /// A dump that did not reach a namespace (made since the last discovery, or gone from /proc
    /// and /run/netns while its orphans time out) says nothing of its sockets: kept.
    @Test func vanishedAreJudgedOnlyInTheNamespacesDumped() {
        var table = ConnectionTable()
        for (cookie, netns) in [(1, 4026531840), (2, 4026532999)] as [(UInt64, UInt32?)] + [(3, nil)] {
            var s = Script(cookie: cookie, lport: UInt16(1000 + cookie), rport: 80)
            var t = s.go(.close, .synSent, at: 0)
            t.identity.netns = netns
            _ = table.apply(t)
        }
        #expect(table.removeVanished(alive: [], dumped: [4026531840], idleBefore: Script.at(5000)) == 2)
        #expect(table.owner(of: 1) == nil && table.owner(of: 2) != nil && table.owner(of: 3) == nil)
        #expect(table.removeVanished(alive: [], idleBefore: Script.at(5000)) == 1)
    }

    @Test func seededCloseWaitHasALowerBoundAge() throws {
        var table = ConnectionTable(lingerThresholdNanoseconds: 2_000_000_000)
        table.seed(
            SocketIdentity(cookie: 9, local: IPAddress("10.0.0.1")!, localPort: 80, remote: IPAddress("10.0.0.2")!, remotePort: 5555),
            state: .closeWait, inode: 42, owner: nil, unreadBytes: 12, now: Script.at(0))
        #expect(table.dueLingerers(now: Script.at(1999)).isEmpty)
        let l = try #require(table.dueLingerers(now: Script.at(2500)).first)
        #expect(l.ageIsLowerBound)
        #expect(l.ageNanoseconds == 2_500_000_000)
        #expect(l.inode == 42 && l.unreadBytes == 12)
    }

    /// A socket seeded from a census (sock_diag tells neither) learns its netns and cgroup from
    /// its first transition; a later transition without them does not forget them.
    @Test func netnsAndCgroupReachTheConnectionRecord() throws {
        var table = ConnectionTable(lingerThresholdNanoseconds: 1_000_000_000)
        table.seed(
            SocketIdentity(cookie: 9, local: IPAddress("10.0.0.1")!, localPort: 80, remote: IPAddress("10.0.0.2")!, remotePort: 5555),
            state: .established, inode: 42, owner: nil, unreadBytes: nil, now: Script.at(0))
        var s = Script(cookie: 9, local: IPAddress("10.0.0.1")!, lport: 80, remote: IPAddress("10.0.0.2")!, rport: 5555)
        var t = s.go(.established, .closeWait, at: 10, rcvQueue: 1)
        t.identity.netns = 4_026_532_000
        t.identity.cgroup = 77
        _ = table.apply(t)
        _ = table.apply(s.go(.closeWait, .lastAck, at: 20))
        let closed = try #require(table.apply(s.go(.lastAck, .close, at: 21)).connection)
        #expect(closed.identity.netns == 4_026_532_000 && closed.identity.cgroup == 77)
    }

    @Test func tableIsBoundedAndCountsEvictions() {
        var table = ConnectionTable(capacity: 100, lingerThresholdNanoseconds: 1_000_000_000)
        // One CLOSE_WAIT socket first (the oldest), then 200 open connections.
        var leak = Script(cookie: 1, lport: 80, rport: 1)
        _ = table.apply(leak.go(.listen, .synRecv, at: 0))
        _ = table.apply(leak.go(.synRecv, .established, at: 0))
        _ = table.apply(leak.go(.established, .closeWait, at: 0, rcvQueue: 1))
        for i in 0..<200 {
            var c = Script(cookie: UInt64(100 + i), lport: UInt16(2000 + i), rport: 80)
            _ = table.apply(c.go(.close, .synSent, at: Double(i + 1)))
        }
        #expect(table.count <= 100)
        #expect(table.evictions >= 101)
        #expect(table.owner(of: 1) != nil, "CLOSE_WAIT entries are evicted last")
        #expect(table.owner(of: 299) != nil, "the newest entry stays")
        #expect(table.owner(of: 100) == nil, "the least recently active went first")
    }

    @Test func recordsJSONGolden() throws {
        var table = ConnectionTable(lingerThresholdNanoseconds: 1_000_000_000)
        var c = Script(cookie: 11, lport: 40000, rport: 80)
        _ = table.apply(c.go(.close, .synSent, at: 0))
        _ = table.apply(c.go(.synSent, .established, at: 0.5))
        _ = table.apply(c.go(.established, .finWait1, at: 100))
        _ = table.apply(c.go(.finWait1, .finWait2, at: 100.25))
        let r = try #require(table.apply(c.go(.finWait2, .close, at: 150, rcvQueue: 1, counters: counters(acked: 12, received: 1))).connection)
        var out: [UInt8] = []
        JSONLines.append(r, to: &out)
        #expect(
            String(decoding: out, as: UTF8.self)
                == #"{"type":"connection","v":1,"time":"2026-11-25T13:40:10.150000000Z","cookie":11,"family":"ipv4","laddr":"127.0.0.1","lport":40000,"raddr":"127.0.0.1","rport":80,"netns":null,"cgroup":null,"container":null,"role":"client","owner":{"pid":7,"comm":"app"},"timeline":[{"state":"SYN_SENT","ms":0.500},{"state":"ESTABLISHED","ms":99.500},{"state":"FIN_WAIT1","ms":0.250},{"state":"FIN_WAIT2","ms":49.750}],"connect_ms":0.500,"lifetime_ms":150.000,"closed_by":"local","time_wait":true,"timewait_state":"TIME_WAIT","bytes_sent":10,"bytes_received":0,"retransmits":0,"srtt_us":40,"partial":false,"gap":false,"connect_error":null}"#
                + "\n")
        let l = LingererRecord(
            event: .lingering, time: Script.at(0), identity: SocketIdentity(cookie: 12, local: IPAddress("::1")!, localPort: 80, remote: IPAddress("::1")!, remotePort: 4444),  holder: .init(process: Owner(pid: 99, comm: "leaky"), fd: 5), inode: 777,
            ageNanoseconds: 31_250_000_000, ageIsLowerBound: true, unreadBytes: 0)
        out = []
        JSONLines.append(l, to: &out)
        #expect(
            String(decoding: out, as: UTF8.self)
                == #"{"type":"lingerer","v":1,"time":"2026-11-25T13:40:10.000000000Z","cookie":12,"family":"ipv6","laddr":"::1","lport":80,"raddr":"::1","rport":4444,"netns":null,"cgroup":null,"container":null,"event":"lingering","holder":{"pid":99,"comm":"leaky","fd":5},"inode":777,"age_s":31.250,"age_is_lower_bound":true,"unread_bytes":0}"#
                + "\n")
        out = []
        TextLines(utcOffsetSeconds: 0).append(l, color: false, to: &out)
        #expect(
            String(decoding: out, as: UTF8.self)
                == "13:40:10.000000 LINGERER 12       [::1]:80                   [::1]:4444                 -             lingering 99 (leaky) fd 5 inode 777 age 31.250 s (at least) unread 0 B\n")
    }
}

/// Aggregated kernel records: a batch ingested whole makes what its transitions make one by one.
@Suite struct BatchIngestTests {
    /// Splits one socket's transitions the way the kernel program does: a batch ends at CLOSE,
    /// CLOSE_WAIT or LISTEN, or when full.
    func batches(_ ts: [Transition]) -> [TransitionBatch] {
        var out: [TransitionBatch] = []
        var pending: [Transition] = []
        for t in ts {
            if [.close, .closeWait, .listen].contains(t.new) || pending.count == TransitionBatch.maxEarlier {
                var b = TransitionBatch(last: t)
                for p in pending { b.appendEarlier(.init(old: p.old, new: p.new, time: p.time, nanosecondsInOld: p.nanosecondsInOld)) }
                out.append(b)
                pending = []
            } else {
                pending.append(t)
            }
        }
        return out
    }

    struct Run {
        var table = ConnectionTable(capacity: 100, lingerThresholdNanoseconds: 1_000_000_000)
        var summary = RunSummary(start: Script.at(0))
        var connections: [ConnectionRecord] = []
        var lingerers: [LingererRecord] = []

        mutating func note(_ o: ConnectionTable.Outcome) {
            if let c = o.connection { connections.append(c) }
            if let l = o.lingererClosed { lingerers.append(l) }
        }
    }

    @Test func sameRecordsAndSummaryAsOneByOne() throws {
        var client = Script(cookie: 1, lport: 40000, rport: 80)
        var server = Script(cookie: 2, lport: 80, rport: 40000)
        var listener = Script(cookie: 3, local: IPAddress("0.0.0.0")!, lport: 80, remote: IPAddress("0.0.0.0")!, rport: 0)
        var refused = Script(cookie: 4, lport: 40001, rport: 81)
        var long = Script(cookie: 5, lport: 40002, rport: 80)  // more transitions than a batch holds
        var steps: [(Transition, dueCheckAt: Double?)] = [
            (listener.go(.close, .listen, at: 0), nil),
            (client.go(.close, .synSent, at: 1), nil), (client.go(.synSent, .established, at: 1.2), nil),
            (server.go(.listen, .synRecv, at: 1.1), nil), (server.go(.synRecv, .established, at: 1.3), nil),
            (client.go(.established, .finWait1, at: 5), nil), (server.go(.established, .closeWait, at: 5.1, rcvQueue: 4), nil),
            (client.go(.finWait1, .finWait2, at: 5.2), nil),
            (client.go(.finWait2, .close, at: 5.3, rcvQueue: 0, counters: counters(acked: 5, received: 1)), nil),
            (refused.go(.close, .synSent, at: 6), nil),
            (refused.go(.synSent, .close, at: 6.1, rcvQueue: 0, counters: counters(acked: 0, received: 0)), nil),
        ]
        for i in 0..<10 {
            steps.append((long.go(i == 0 ? .close : i % 2 == 1 ? .synSent : .established, i % 2 == 0 ? .synSent : .established, at: 7 + Double(i)), nil))
        }
        steps.append((long.go(.established, .close, at: 20, rcvQueue: 0, counters: counters(acked: 1, received: 1)), nil))
        // The server lingers past the threshold (checked at 1,500 ms), then closes.
        steps.append((server.go(.closeWait, .lastAck, at: 1_600), 1_500))
        steps.append((server.go(.lastAck, .close, at: 1_601, rcvQueue: 0, counters: counters(acked: 2, received: 5)), nil))
        steps.append((listener.go(.listen, .close, at: 1_700), nil))

        var one = Run(), batched = Run()
        // One by one, with the lingerer check where it falls.
        for (t, check) in steps {
            if let check { one.lingerers += one.table.dueLingerers(now: Script.at(check)) }
            var o = ConnectionTable.Outcome()
            _ = one.table.ingest(t, summary: &one.summary, into: &o)
            one.note(o)
        }
        // By batch: each socket's transitions batched, batches in the order of their last
        // transition (when the kernel sends them).
        let bySocket = Dictionary(grouping: steps, by: { $0.0.identity.cookie })
        var all: [(TransitionBatch, dueCheckAt: Double?)] = []
        for (_, s) in bySocket {
            let checks = Dictionary(s.map { ($0.0.time, $0.dueCheckAt) }, uniquingKeysWith: { a, _ in a })
            for b in batches(s.map(\.0)) {
                // A check before a batch's first transition happens before the batch arrives.
                let first = b.earlierCount > 0 ? b.earlier(0).time : b.last.time
                all.append((b, checks[first] ?? nil))
            }
        }
        all.sort { $0.0.last.time < $1.0.last.time }
        for (b, check) in all {
            if let check { batched.lingerers += batched.table.dueLingerers(now: Script.at(check)) }
            var o = ConnectionTable.Outcome()
            batched.table.ingest(batch: b, summary: &batched.summary, into: &o)
            batched.note(o)
        }
        #expect(all.count < steps.count)
        #expect(all.contains { $0.0.earlierCount == TransitionBatch.maxEarlier }, "a full batch")
        #expect(one.connections.count == 5)
        #expect(Set(one.connections) == Set(batched.connections))
        #expect(one.lingerers.map(\.event) == [.lingering, .closed])
        #expect(one.lingerers == batched.lingerers)
        #expect(one.summary.events == batched.summary.events && one.summary.events == UInt64(steps.count))
        #expect(one.summary.transitionCounts == batched.summary.transitionCounts)
        #expect(one.summary.connections == batched.summary.connections)
        #expect(one.summary.stateDurations.map(\.count) == batched.summary.stateDurations.map(\.count))
        #expect(one.summary.connectLatency.count == batched.summary.connectLatency.count)
        #expect(one.summary.timeWait.total == batched.summary.timeWait.total)
        #expect(one.summary.closed == batched.summary.closed && one.summary.closed[.client, .local] > 0)
        #expect(one.table.count == 0 && batched.table.count == 0)
    }
}
