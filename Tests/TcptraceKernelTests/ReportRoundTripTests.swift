import Foundation
import Glibc
import Testing
import TcptraceCore

/// Live JSON of real traffic, then `report` on it as an unprivileged user: the same records.
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct ReportRoundTripTests {
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
        let file = tempPath("live.jsonl")
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
        #expect(waitForRecords(in: file, seconds: 6, count: 2) { $0["type"] as? String == "lingerer" }, "two lingerers within 6 s")
        kill(killed.process.processIdentifier, SIGKILL)
        killed.process.waitUntilExit()
        #expect(waitForRecords(in: file, seconds: 3, count: 1) { $0["event"] as? String == "closed" }, "the killed server's lingerer closed")
        usleep(300_000)
        kill(tracer.processIdentifier, SIGTERM)
        tracer.waitUntilExit()
        #expect(tracer.terminationStatus == 0)
        chmod(file, 0o644)

        let r = try Binary.run(
            ["report", "--format", "json", "--close-wait-threshold", "1s", file],
            prefix: Binary.asNobody)
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
