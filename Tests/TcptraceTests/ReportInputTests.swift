import Foundation
import Glibc
import Testing
import TcptraceCore

/// `report` as users run it on recorded files: outcomes and exit codes. No root needed.
@Suite struct ReportInputTests {
    func tempFile(_ name: String, _ text: String) throws -> String {
        let path = tempPath(name)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    /// A whole client connection (5 transitions) as the tracer writes it.
    func clientLines(cookie: UInt64 = 77, atSecond second: Int64 = 0) -> [String] {
        let base: Int64 = 1_795_614_010_000_000_000 + second * 1_000_000_000
        let steps: [(TCPState, TCPState, Int64)] = [
            (.close, .synSent, 0), (.synSent, .established, 1), (.established, .finWait1, 50), (.finWait1, .finWait2, 51),
            (.finWait2, .close, 52),
        ]
        var last: Int64?
        return steps.map { old, new, ms in
            defer { last = ms }
            let t = Transition(
                time: WallTime(nanoseconds: base + ms * 1_000_000), identity: SocketIdentity(cookie: cookie, local: .v4(0x7f00_0001), localPort: old == .close ? 0 : UInt16(40000 + cookie % 1000), remote: .v4(0x7f00_0001), remotePort: 8080),  old: old, new: new,
                nanosecondsInOld: last.map { UInt64(ms - $0) * 1_000_000 }, pid: 5, comm: "curl",
                owner: Owner(pid: 5, comm: "curl"), receiveQueue: new == .close ? 1 : nil,
                counters: new == .close ? TCPCounters(bytesAcked: 12, bytesReceived: 1, totalRetransmissions: 0, smoothedRTTMicroseconds: 20) : nil)
            var out: [UInt8] = []
            JSONLines.append(t, to: &out)
            return String(decoding: out.dropLast(), as: UTF8.self)
        }
    }

    /// A log longer than the findings' evaluation interval (10 s of log time) is evaluated as it
    /// is read. That evaluation once ran inside the replay's own mutation (it read the replay's
    /// counters from the record callback): the debug build trapped on the exclusivity violation.
    @Test func aLogLongerThanTheFindingsIntervalIsEvaluatedAsItIsRead() throws {
        let lines = (0..<8).flatMap { clientLines(cookie: UInt64(100 + $0), atSecond: Int64($0) * 10) }
        let file = try tempFile("long.jsonl", lines.joined(separator: "\n") + "\n")
        defer { unlink(file) }
        let (r, records) = try report([file])
        #expect(r.status == 0, "\(r.stderr.suffix(400))")
        #expect(records.filter { $0["type"] as? String == "connection" }.count == 8)
        #expect(records.last?["type"] as? String == "summary")
    }

    func report(_ args: [String]) throws -> (Binary.Result, [[String: Any]]) {
        let r = try Binary.run(["report", "--format", "json"] + args)
        return (r, r.status == 0 ? jsonLines(r.stdout) : [])
    }

    @Test func truncatedLastLineIsCountedAndTheRestAnalysed() throws {
        let lines = clientLines()
        let file = try tempFile("truncated.jsonl", (lines + [String(lines[0].prefix(90))]).joined(separator: "\n"))
        defer { unlink(file) }
        let (r, records) = try report([file])
        #expect(r.status == 0)
        #expect(r.stderr.contains("\(file):6: malformed line skipped: unterminated string"), "\(r.stderr)")
        #expect(records.filter { $0["type"] as? String == "connection" }.count == 1)
        let input = try #require(records.first { $0["type"] as? String == "report" })
        #expect(input["malformed"] as? Int == 1 && input["transitions"] as? Int == 5 && input["lines"] as? Int == 6)
        let summary = try #require(records.last)
        #expect((summary["lost"] as? [String: Any])?["undecodable"] as? Int == 1, "malformed lines count in the summary")
    }

    @Test func garbageLineIsNamedAndSkipped() throws {
        var lines = clientLines()
        lines.insert("this is not json", at: 2)
        let file = try tempFile("garbage.jsonl", lines.joined(separator: "\n") + "\n")
        defer { unlink(file) }
        let (r, records) = try report([file])
        #expect(r.status == 0)
        #expect(r.stderr == "tcptrace-bpf: \(file):3: malformed line skipped: expected a JSON object at column 1\n")
        #expect(records.filter { $0["type"] as? String == "connection" }.count == 1)
    }

    @Test func otherSchemaVersionStopsWithExit65() throws {
        let lines = clientLines()
        let file = try tempFile("v2.jsonl", ([lines[0], lines[1].replacingOccurrences(of: "\"v\":1", with: "\"v\":2")] + lines).joined(separator: "\n"))
        defer { unlink(file) }
        let r = try Binary.run(["report", file])
        #expect(r.status == 65)
        #expect(r.stderr == "tcptrace-bpf: \(file):2: schema version 2 is not supported (this build reads version 1)\n")
    }

    @Test func emptyFileIsAnEmptyReport() throws {
        let file = try tempFile("empty.jsonl", "")
        defer { unlink(file) }
        let (r, records) = try report([file])
        #expect(r.status == 0 && r.stderr.isEmpty)
        #expect(records.map { $0["type"] as? String } == ["report", "summary"])
        #expect(records.last?["events"] as? Int == 0)
    }

    @Test func noRecordsAtAllIsExit65AndNoFileIs66() throws {
        let file = try tempFile("binary.bin", "\u{1}\u{2}garbage\nmore garbage\n")
        defer { unlink(file) }
        let r = try Binary.run(["report", file])
        #expect(r.status == 65)
        #expect(r.stderr.hasSuffix("tcptrace-bpf: no tcptrace-bpf records in the input\n"))
        let missing = try Binary.run(["report", "/nonexistent/log.jsonl"])
        #expect(missing.status == 66)
        #expect(missing.stderr == "tcptrace-bpf: cannot open /nonexistent/log.jsonl: No such file or directory\n")
        let bad = try Binary.run(["report", "--since", "yesterday", file])
        #expect(bad.status == 64)
    }

    @Test func gzipIsReadTransparently() throws {
        let file = try tempFile("log.jsonl", clientLines().joined(separator: "\n") + "\n")
        defer { unlink(file) }
        try command(["/bin/gzip", "-kf", file])
        defer { unlink(file + ".gz") }
        let plain = try Binary.run(["report", "--format", "json", file])
        let packed = try Binary.run(["report", "--format", "json", file + ".gz"])
        #expect(packed.status == 0 && packed.stderr.isEmpty)
        #expect(packed.stdout == plain.stdout.replacingOccurrences(of: "\"\(file)\"", with: "\"\(file).gz\""))
        // A gzip stream cut in the middle: what came before is analysed, the damage reported.
        let data = try Data(contentsOf: URL(fileURLWithPath: file + ".gz"))
        try data.prefix(data.count - 12).write(to: URL(fileURLWithPath: file + ".gz"))
        let cut = try Binary.run(["report", "--format", "json", file + ".gz"])
        #expect(cut.status == 0)
        #expect(cut.stderr.contains("gzip data:"), "\(cut.stderr)")
    }
}
