import Foundation
import Glibc
import Testing
import TcptraceCore

/// `report` as users run it on recorded files: outcomes and exit codes. No root needed.
@Suite struct ReportInputTests {
    func tempFile(_ name: String, _ text: String) throws -> String {
        let path = "/tmp/tcptrace-report-\(getpid())-\(name)"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    /// A whole client connection (5 transitions) as the tracer writes it.
    func clientLines() -> [String] {
        let base: Int64 = 1_795_614_010_000_000_000
        let steps: [(TCPState, TCPState, Int64)] = [
            (.close, .synSent, 0), (.synSent, .established, 1), (.established, .finWait1, 50), (.finWait1, .finWait2, 51),
            (.finWait2, .close, 52),
        ]
        var last: Int64?
        return steps.map { old, new, ms in
            defer { last = ms }
            let t = Transition(
                time: WallTime(nanoseconds: base + ms * 1_000_000), identity: SocketIdentity(cookie: 77, local: .v4(0x7f00_0001), localPort: old == .close ? 0 : 40000, remote: .v4(0x7f00_0001), remotePort: 8080),  old: old, new: new,
                nanosecondsInOld: last.map { UInt64(ms - $0) * 1_000_000 }, pid: 5, comm: "curl",
                owner: Owner(pid: 5, comm: "curl"), receiveQueue: new == .close ? 1 : nil,
                counters: new == .close ? TCPCounters(bytesAcked: 12, bytesReceived: 1, totalRetransmissions: 0, smoothedRTTMicroseconds: 20) : nil)
            var out: [UInt8] = []
            JSONLines.append(t, to: &out)
            return String(decoding: out.dropLast(), as: UTF8.self)
        }
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
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gz.arguments = ["-kf", file]
        try gz.run()
        gz.waitUntilExit()
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

/// Live JSON of real traffic, then `report` on it as an unprivileged user: the same records.
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct ReportRoundTripTests {
    func waitFor(_ file: String, seconds: Double, count: Int, _ predicate: ([String: Any]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: file, encoding: .utf8) {
                let n = text.split(separator: "\n").compactMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }.filter(predicate).count
                if n >= count { return true }
            }
            usleep(100_000)
        }
        return false
    }

    func type(_ t: String) -> ([String: Any]) -> Bool { { $0["type"] as? String == t } }

    /// Everything but the named fields (holder.fd is dropped from the holder object).
    func comparable(_ r: [String: Any], ignoring: Set<String> = []) -> NSDictionary {
        var r = r
        for k in ignoring { r[k] = nil }
        if var h = r["holder"] as? [String: Any] {
            h["fd"] = nil
            r["holder"] = h
        }
        return r as NSDictionary
    }

    @Test func reportReproducesTheLiveRecordsWithoutRoot() throws {
        try KernelGate.check()
        let file = "/tmp/tcptrace-report-\(getpid())-live.jsonl"
        defer { unlink(file) }
        // Free ports, taken by bind without listen (no transition), then given back.
        let (a, portA) = try Loopback.bound(.v4)
        let (b, portB) = try Loopback.bound(.v4)
        close(a)
        close(b)
        // The tracer starts first, so it sees the servers listen and knows their sockets' owner.
        let (tracer, _) = try Binary.start([
            "--format", "json", "--output", file, "--port", "\(portA),\(portB)", "--close-wait-threshold", "1s",
        ])
        let killed = try LeakyServer(port: portA)  // its lingerer is closed when it dies
        let alive = try LeakyServer(port: portB)  // its lingerer is still in CLOSE_WAIT when the log ends
        try killed.leakOne(bytes: 3)
        try alive.leakOne(bytes: 0)
        #expect(waitFor(file, seconds: 6, count: 2) { $0["type"] as? String == "lingerer" }, "two lingerers within 6 s")
        kill(killed.process.processIdentifier, SIGKILL)
        killed.process.waitUntilExit()
        #expect(waitFor(file, seconds: 3, count: 1) { $0["event"] as? String == "closed" }, "the killed server's lingerer closed")
        usleep(300_000)
        kill(tracer.processIdentifier, SIGTERM)
        tracer.waitUntilExit()
        #expect(tracer.terminationStatus == 0)
        chmod(file, 0o644)

        let r = try Binary.run(
            ["report", "--format", "json", "--close-wait-threshold", "1s", file],
            prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        let live = jsonLines(try String(contentsOfFile: file, encoding: .utf8))
        let offline = jsonLines(r.stdout)

        // Connection records: every field, in the same order.
        let liveConnections = live.filter(type("connection"))
        let offlineConnections = offline.filter(type("connection"))
        #expect(liveConnections.count >= 4, "2 clients, the killed server's socket and listener")
        #expect(offlineConnections.map { comparable($0) } == liveConnections.map { comparable($0) })

        // Lingerers: the live run checks once a second, so its `time` and `age_s` are up to
        // ~1 s later; holder.fd comes from /proc, live only. Everything else matches.
        let liveLingerers = live.filter(type("lingerer"))
        let offlineLingerers = offline.filter { $0["type"] as? String == "lingerer" && $0["event"] as? String != "open_at_end" }
        #expect(liveLingerers.count == 3, "two lingering, one closed")
        func byKey(_ rs: [[String: Any]]) -> [String: [String: Any]] {
            Dictionary(rs.map { ("\($0["cookie"]!)-\($0["event"]!)", $0) }, uniquingKeysWith: { a, _ in a })
        }
        let liveByKey = byKey(liveLingerers), offlineByKey = byKey(offlineLingerers)
        #expect(Set(liveByKey.keys) == Set(offlineByKey.keys))
        for (key, l) in liveByKey {
            let o = try #require(offlineByKey[key])
            if l["event"] as? String == "lingering" {
                #expect(comparable(o, ignoring: ["time", "age_s"]) == comparable(l, ignoring: ["time", "age_s"]), "\(key)")
                #expect(o["age_s"] as? Double == 1.0, "offline: exactly when it crossed the threshold")
                let liveAge = try #require(l["age_s"] as? Double)
                #expect(liveAge >= 1.0 && liveAge < 2.5)
                #expect((o["time"] as? String ?? "") <= (l["time"] as? String ?? ""))
            } else {
                #expect(comparable(o) == comparable(l), "closed: same time and age; only the fd differs")
            }
            #expect((l["holder"] as? [String: Any])?["fd"] is Int, "live: the fd from /proc")
            #expect((o["holder"] as? [String: Any])?["fd"] is NSNull, "offline: no /proc")
        }

        // The socket the live server still holds: in CLOSE_WAIT at the end of the log.
        let atEnd = offline.filter { $0["event"] as? String == "open_at_end" }
        #expect(atEnd.count == 1)
        let open = try #require(atEnd.first)
        #expect(open["lport"] as? Int == Int(alive.port))
        #expect((open["holder"] as? [String: Any])?["pid"] as? Int == Int(alive.pid))
        let liveSummary = try #require(live.last), offlineSummary = try #require(offline.last)
        #expect(open["time"] as? String == liveSummary["time"] as? String, "the end of the log is the live summary's time")
        #expect((open["age_s"] as? Double ?? 0) >= 1.0)

        // The summary counts the same things.
        for key in ["events", "connections"] {
            #expect(offlineSummary[key] as? Int == liveSummary[key] as? Int, "\(key)")
        }
        #expect((offlineSummary["transitions"] as? NSDictionary) == (liveSummary["transitions"] as? NSDictionary))
        #expect((offlineSummary["lingerers"] as? NSDictionary) == (liveSummary["lingerers"] as? NSDictionary))
        let input = try #require(offline.first(where: type("report")))
        #expect(input["malformed"] as? Int == 0)
        #expect(input["transitions"] as? Int == live.filter(type("transition")).count)
    }
}
