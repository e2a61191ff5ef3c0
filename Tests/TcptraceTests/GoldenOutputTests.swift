import Foundation
import Testing
import TestSupport
@testable import TcptraceCore

/// Every output, byte for byte, against files written from main before the outputs were
/// declared (Tests/Fixtures/golden): the recorded log replayed (transitions, connections,
/// lingerers, census counts, the report and summary records, text and JSON), a census, doctor's
/// report and the metrics page from fixed values. `TCPTRACE_UPDATE_GOLDEN=1` rewrites the files
/// (only for an intended change of output, which is a schema change: bump the version).
@Suite struct GoldenOutputTests {
    static let golden = repositoryRoot + "/Tests/Fixtures/golden/"
    static let log = repositoryRoot + "/Tests/Fixtures/leak-and-storm.jsonl"
    let text = TextLines(utcOffsetSeconds: 0)

    /// Replays the recorded log as `report` does, with every output of the replay written.
    func replayed(json: Bool) throws -> [UInt8] {
        var out: [UInt8] = []
        if !json { out.append(contentsOf: TextLines.header.utf8) }
        var replay = Replay(table: ConnectionTable(capacity: 1000, lingerThresholdNanoseconds: 2_000_000_000))
        replay.emitsStateChanges = true
        let emit: (Replay.Output) -> Void = { o in
            switch o {
            case .transition(let t): if json { JSONLines.append(t, to: &out) } else { text.append(t, to: &out) }
            case .connection(let c): if json { JSONLines.append(c, to: &out) } else { text.append(c, to: &out) }
            case .lingerer(let l): if json { JSONLines.append(l, to: &out) } else { text.append(l, color: false, to: &out) }
            case .census(let c):
                var v = CensusCountsView(c)
                if json { JSONLines.append(v, to: &out) } else { text.appendRecord(&v, to: &out) }
            case .portPressure(var w): if json { JSONLines.append(w, to: &out) } else { text.appendRecord(&w, to: &out) }
            case .finding: break  // the log holds none
            case .recordedSummary(let lost):
                // The loss read back from the log's summary line (the test's own rendering).
                if json {
                    out.append(contentsOf: (
                        "{\"type\":\"summary\",\"v\":1,\"time\":\"1970-01-01T00:00:00.000000000Z\",\"lost\":{\"ringbuf_full\":\(lost.ringBufferFull),"
                            + "\"recursion_misses\":\(lost.recursionMisses),\"undecodable\":\(lost.undecodable)}}\n").utf8)
                }
            }
        }
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Self.log)))
        let malformed = Array("{\"type\":\"transition\"\n".utf8)
        for line in (bytes + malformed).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let l = Array(line)
            _ = l.withUnsafeBufferPointer { replay.feed(line: $0, emit) }
        }
        for var l in replay.finish(emit) {
            l.event = .openAtEnd
            emit(.lingerer(l))
        }
        var summary = replay.summary
        if json {
            JSONLines.append(replay.stats, end: summary.end, inputs: ["a.jsonl", "-"], closeWaitThresholdNanoseconds: 2_000_000_000, to: &out)
            JSONLines.append(summary, to: &out)
        } else {
            text.appendSummary(summary, to: &out)
            text.appendInputStats(replay.stats, to: &out)
        }
        // A live run's summary: kernel counters, loss, evictions and the overflow counter set.
        summary.kernel.seen = 1906
        summary.kernel.filtered = 1475
        summary.kernel.noStorage = 2
        summary.kernel.ringRecords = 431
        summary.kernel.nested = 3
        summary.lost.ringBufferFull = 4
        summary.lost.recursionMisses = 5
        summary.tableEvictions = 6
        summary.openConnections = 7
        summary.vanishedConnections = 8
        summary.timeWaitOverflow = 9
        if json { JSONLines.append(summary, to: &out) } else { text.appendSummary(summary, to: &out) }
        return out
    }

    static func census() -> [Census] {
        let t = WallTime(nanoseconds: 1_765_000_000_123_456_789)
        func s(_ state: TCPState, _ l: String, _ lp: UInt16, _ r: String, _ rp: UInt16) -> SocketSnapshot {
            SocketSnapshot(cookie: 1, state: state, local: IPAddress(l)!, localPort: lp, remote: IPAddress(r)!, remotePort: rp)
        }
        var sockets: [SocketSnapshot] = []
        for p in 0..<40 { sockets.append(s(.timeWait, "10.0.0.1", UInt16(40000 + p), "10.0.0.9", 5432)) }
        for p in 0..<3 { sockets.append(s(.timeWait, "10.0.0.2", UInt16(40000 + p), "10.0.0.9", 5432)) }
        for p in 0..<2 { sockets.append(s(.closeWait, "10.0.0.1", 8080, "10.0.0.7", UInt16(50000 + p))) }
        sockets += [
            s(.listen, "0.0.0.0", 8080, "0.0.0.0", 0), s(.established, "::1", 9000, "::1", 40000),
            s(.synRecv, "10.0.0.1", 8080, "10.0.0.8", 50001), s(.timeWait, "::1", 9000, "::1", 40001),
        ]
        var a = Census(time: t, sockets: sockets, portRange: PortRange(low: 40000, high: 40999))
        a.netns = 4_026_531_833
        a.netnsName = "host"
        var b = Census(time: t, sockets: sockets.prefix(5), filter: CensusFilter(family: .ipv4, ports: [5432, 8080]))
        b.netns = 4_026_532_000
        return [a, b, Census.total(of: [a, b], time: t)]
    }

    static func doctor() -> DoctorReport {
        let sysctls = TCPSysctls(raw: [
            "net.ipv4.tcp_tw_reuse": "0\n", "net.ipv4.tcp_timestamps": "1\n", "net.ipv4.tcp_fin_timeout": "60\n",
            "net.ipv4.tcp_max_tw_buckets": "131072\n", "net.ipv4.ip_local_port_range": "40000\t40999\n",
            "net.ipv4.tcp_syncookies": "1\n", "net.ipv4.tcp_max_syn_backlog": "2048\n", "net.core.somaxconn": "4096\n",
        ])
        return DoctorReport(
            time: WallTime(nanoseconds: 1_765_000_000_000_000_000),
            checks: [
                .init(name: "kernel", status: .ok, detail: "6.18 with BTF"), .init(name: "bpf", status: .fail, detail: "no \"CAP_BPF\""),
                .init(name: "tracefs", status: .info, detail: "not mounted"),
            ],
            sysctls: sysctls, sysctlText: ["net.ipv4.tcp_tw_reuse": "0\n", "net.core.somaxconn": nil],
            counters: TCPExtCounters(timeWaitOverflow: 12, listenOverflows: 3, reqQueueFullDrop: nil), census: census()[0])
    }

    static func metrics(_ summary: RunSummary) -> String {
        var lingerers = LingererTally()
        let l = LingererRecord(
            event: .lingering, time: WallTime(nanoseconds: 0), identity: SocketIdentity(),
            holder: .init(process: Owner(pid: 9, comm: "java"), fd: 3), inode: nil, ageNanoseconds: 0, ageIsLowerBound: false,
            unreadBytes: nil)
        lingerers.record(l, container: "web-1")
        lingerers.record(l, container: "")
        let snapshot = MetricsSnapshot(
            summary: summary, census: census(), lingerers: lingerers, tracked: 3, timeWaitOverflow: 0, hostRetransmittedSegments: 11,
            programs: [ProgramRunStats(program: "handle_set_state", runNanoseconds: 1_500_000_000, runs: 10)])
        return PrometheusText.render(
            snapshot,
            process: ProcessStats(cpuSeconds: 1.5, residentBytes: 4096, virtualBytes: 8192, startTimeSeconds: 1e9, openFDs: 5, maxFDs: 1024))
    }

    func censusAndDoctor(json: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for c in Self.census() {
            if json { JSONLines.append(c, to: &out) } else { text.appendCensus(c, to: &out) }
        }
        if json { JSONLines.append(Self.doctor(), to: &out) } else { text.appendDoctor(Self.doctor(), to: &out) }
        return out
    }

    func check(_ name: String, _ bytes: [UInt8]) throws {
        let path = Self.golden + name
        if ProcessInfo.processInfo.environment["TCPTRACE_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(atPath: Self.golden, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return
        }
        let expected = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes != expected else { return }
        let got = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let want = String(decoding: expected, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let i = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, want.count)
        Issue.record(
            "\(name) differs at line \(i + 1):\n  got:  \(i < got.count ? String(got[i]) : "<end>")\n  want: \(i < want.count ? String(want[i]) : "<end>")")
    }

    @Test func replayedLogAsJSON() throws { try check("report.jsonl", try replayed(json: true)) }
    @Test func replayedLogAsText() throws { try check("report.txt", try replayed(json: false)) }
    @Test func censusAndDoctorAsJSON() throws { try check("census-doctor.jsonl", censusAndDoctor(json: true)) }
    @Test func censusAndDoctorAsText() throws { try check("census-doctor.txt", censusAndDoctor(json: false)) }

    @Test func metricsPage() throws {
        var replay = Replay(table: ConnectionTable(capacity: 1000, lingerThresholdNanoseconds: 2_000_000_000))
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Self.log)))
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            _ = Array(line).withUnsafeBufferPointer { replay.feed(line: $0) { _ in } }
        }
        _ = replay.finish { _ in }
        try check("metrics.prom", Array(Self.metrics(replay.summary).utf8))
    }
}

/// What the replay hands the HTML report from a census line (time, namespace, counts), as a
/// record of its own so that the golden files show it.
struct CensusCountsView: Record {
    var time = WallTime(nanoseconds: 0)
    var netns: UInt32?
    var states: [Keyed<TCPState, UInt64>] = []
    init() {}
    init(_ c: CensusRecord) {
        (time, netns, states) = (c.time, c.netns, c.states.sorted { $0.key < $1.key })
    }
    static var type: StaticString { "census" }
    static var jsonPrefix: StaticString { "{\"type\":\"census\",\"v\":" }
    static var textTag: StaticString { "CENSUS" }
    static func fields<V: FieldVisitor>(_ r: inout CensusCountsView, _ v: inout V) {
        v.field("netns", &r.netns, Nullable<Integer<UInt32>>.self, text: .labeled(" netns "), "network namespace inode")
        v.field("states", &r.states, KeyedObject<StateKey, Integer<UInt64>>.self, text: .plain, "sockets per state")
    }
}
