import Foundation
import Glibc
import Testing
import TcptraceCore

@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct LingererTests {
    @Test func leakingServerIsNamedWithItsFD() throws {
        try KernelGate.check()
        let file = tempPath("lingerer.jsonl")
        defer { unlink(file) }
        let server = try LeakyServer()
        let (tracer, _) = try Binary.start([
            "--format", "json", "--output", file, "--port", String(server.port), "--close-wait-threshold", "1s",
            "--events", "lingerers,connections",
        ])
        defer {
            kill(tracer.processIdentifier, SIGTERM)
            tracer.waitUntilExit()
        }
        let started = Date()
        try server.leakOne(bytes: 3)
        let record = try #require(
            waitForRecord(in: file, seconds: 5) { $0["type"] as? String == "lingerer" && $0["event"] as? String == "lingering" },
            "no lingerer record within 5 s")
        #expect(Date().timeIntervalSince(started) < 4)
        let holder = try #require(record["holder"] as? [String: Any])
        #expect(holder["pid"] as? Int == Int(server.pid))
        #expect(holder["comm"] as? String == "python3")
        let inode = try #require(record["inode"] as? Int)
        #expect(holder["fd"] as? Int == server.fd(holding: inode), "the fd /proc shows for socket:[\(inode)]")
        #expect(record["lport"] as? Int == Int(server.port))
        #expect((record["age_s"] as? Double ?? 0) >= 1.0)
        #expect(record["age_is_lower_bound"] as? Bool == false)
        #expect(record["unread_bytes"] as? Int == 3)
        // The client closed first; the server never sends its FIN: an orphaned FIN_WAIT2 timewait.
        let client = try #require(waitForRecord(in: file, seconds: 2) { $0["type"] as? String == "connection" })
        #expect(client["role"] as? String == "client")
        #expect(client["time_wait"] as? Bool == true)
        #expect(client["timewait_state"] as? String == "FIN_WAIT2")
        #expect(client["closed_by"] as? String == "local")
    }

    @Test func connectionRecordMatchesWhatTheTestDid() throws {
        try KernelGate.check()
        let file = tempPath("connection.jsonl")
        defer { unlink(file) }
        let (listener, port) = try Loopback.bound(.v6)
        let (tracer, _) = try Binary.start(["--format", "json", "--output", file, "--port", String(port), "--events", "connections"])
        try Loopback.listen(listener)
        let served = Loopback.serve(listener, count: 1)
        let client = try Loopback.connect(.v6, port: port)
        let clientPort = Loopback.localPort(client)
        Loopback.send(client, count: 12_345)
        usleep(50_000)
        close(client)
        served.wait()
        close(listener)
        usleep(300_000)
        kill(tracer.processIdentifier, SIGTERM)
        tracer.waitUntilExit()
        let records = jsonLines(try String(contentsOfFile: file, encoding: .utf8))
        // --events connections keeps only those (census records are --census-interval's: the
        // one taken at the start among them).
        #expect(records.allSatisfy { ["connection", "summary", "census"].contains($0["type"] as? String) }, "--events connections keeps only those")
        let connections = records.filter { $0["type"] as? String == "connection" }
        #expect(connections.count == 3)
        func states(_ r: [String: Any]) -> [String] { (r["timeline"] as? [[String: Any]] ?? []).compactMap { $0["state"] as? String } }

        let c = try #require(connections.first { $0["role"] as? String == "client" })
        #expect(states(c) == ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2"])
        #expect(c["lport"] as? Int == Int(clientPort) && c["rport"] as? Int == Int(port) && c["laddr"] as? String == "::1")
        #expect(c["closed_by"] as? String == "local")
        #expect(c["time_wait"] as? Bool == true)
        #expect(c["bytes_sent"] as? Int == 12_345 && c["bytes_received"] as? Int == 0)
        #expect((c["connect_ms"] as? Double).map { $0 > 0 } == true)
        #expect((c["lifetime_ms"] as? Double).map { $0 >= 50 } == true, "the client lived at least the 50 ms it waited")
        #expect((c["owner"] as? [String: Any])?["pid"] as? Int == Int(getpid()))
        #expect(c["partial"] as? Bool == false)

        let s = try #require(connections.first { $0["role"] as? String == "server" })
        #expect(states(s) == ["SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK"])
        #expect(s["closed_by"] as? String == "remote")
        #expect(s["time_wait"] as? Bool == false)
        #expect(s["bytes_received"] as? Int == 12_345 && s["bytes_sent"] as? Int == 0)
        #expect(s["connect_ms"] is NSNull)

        let l = try #require(connections.first { $0["role"] as? String == "listener" })
        #expect(states(l) == ["LISTEN"])
        let summary = try #require(records.last)
        #expect(summary["connections"] as? Int == 3)
    }
}

@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct PreexistingLeakTests {
    @Test func leakFromBeforeTheStartIsFoundWithALowerBoundAge() throws {
        try KernelGate.check()
        let file = tempPath("preexisting.jsonl")
        defer { unlink(file) }
        let server = try LeakyServer()
        try server.leakOne(bytes: 5)  // in CLOSE_WAIT before the tracer exists
        usleep(100_000)
        let (tracer, _) = try Binary.start([
            "--format", "json", "--output", file, "--port", String(server.port), "--close-wait-threshold", "1s",
        ])
        defer {
            kill(tracer.processIdentifier, SIGTERM)
            tracer.waitUntilExit()
        }
        let r = try #require(
            waitForRecord(in: file, seconds: 6) { $0["type"] as? String == "lingerer" }, "the pre-existing CLOSE_WAIT socket was not reported")
        #expect(r["age_is_lower_bound"] as? Bool == true)
        #expect((r["age_s"] as? Double ?? 0) >= 1)
        #expect(r["unread_bytes"] as? Int == 5)
        let holder = try #require(r["holder"] as? [String: Any])
        #expect(holder["pid"] as? Int == Int(server.pid))
        #expect(holder["comm"] as? String == "python3")
        let inode = try #require(r["inode"] as? Int)
        #expect(holder["fd"] as? Int == server.fd(holding: inode))
        // A socket accepted now by the listener from before the start gets the listener's owner.
        try server.leakOne()
        usleep(300_000)
        let accepted = records(in: file).filter {
            $0["type"] as? String == "transition" && $0["old"] as? String == "LISTEN" && $0["new"] as? String == "SYN_RECV"
        }
        #expect(accepted.count == 1)
        #expect((accepted.first?["owner"] as? [String: Any])?["pid"] as? Int == Int(server.pid))
        // Its later close is traced under the same cookie, with the owner from /proc.
        let cookie = try #require(r["cookie"] as? Int)
        kill(server.process.processIdentifier, SIGKILL)  // exit closes the leaked socket
        server.process.waitUntilExit()
        usleep(400_000)
        let records = records(in: file)
        let closed = records.first { $0["type"] as? String == "lingerer" && $0["event"] as? String == "closed" }
        #expect(closed?["cookie"] as? Int == cookie)
        let conn = records.first { $0["type"] as? String == "connection" && $0["cookie"] as? Int == cookie }
        #expect(conn?["partial"] as? Bool == true)
        #expect((conn?["owner"] as? [String: Any])?["pid"] as? Int == Int(server.pid))
    }
}
