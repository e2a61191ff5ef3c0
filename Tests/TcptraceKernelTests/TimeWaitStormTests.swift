import Foundation
import Glibc
import Testing
import TcptraceCore
import TcptraceKernel

/// In a namespace of its own with 200 local ports and tcp_tw_reuse=0, a python3 client connects
/// and closes first (each close leaves a timewait socket holding its port 60 s), ~20/s for 4 s,
/// then ~70/s until 40 connects failed with EADDRNOTAVAIL. Prints "ready", waits for a line on
/// stdin, then prints what it saw as JSON.
let timeWaitStorm = """
    import errno, json, os, socket, sys, threading, time
    fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
    host = "::1" if sys.argv[1] == "6" else "127.0.0.1"
    srv = socket.socket(fam)
    srv.bind((host, int(sys.argv[2])))
    srv.listen(1024)
    def serve():
        while True:
            c, _ = srv.accept()
            while c.recv(4096):
                pass
            c.close()
    threading.Thread(target=serve, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.readline()
    ok = failed = 0
    start = time.time()
    while failed < 40 and time.time() - start < 30:
        rate = 20 if time.time() - start < 4 else 70
        c = socket.socket(fam)
        try:
            c.connect((host, int(sys.argv[2])))
            ok += 1
        except OSError as e:
            if e.errno != errno.EADDRNOTAVAIL:
                raise
            failed += 1
        c.close()
        time.sleep(1.0 / rate)
    print(json.dumps({"pid": os.getpid(), "ok": ok, "failed": failed}), flush=True)
    """

/// A pool of 120 connections held open to a server (opened before the tracer starts), then, on
/// "go", 30 short connections closed first (timewait sockets) at ~20/s. Prints "ready", then its
/// pid as JSON when done; keeps the pool until stdin closes.
let poolAndChurn = """
    import json, os, socket, sys, threading, time
    srv = socket.socket()
    srv.bind(("127.0.0.1", int(sys.argv[1])))
    srv.listen(1024)
    held = []
    def serve():
        while True:
            c, _ = srv.accept()
            held.append(c)
    threading.Thread(target=serve, daemon=True).start()
    pool = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(120)]
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(30):
        c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
        c.close()
        time.sleep(0.05)
    print(json.dumps({"pid": os.getpid()}), flush=True)
    sys.stdin.readline()
    """

@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct TimeWaitStormTests {
    func type(_ t: String) -> ([String: Any]) -> Bool { { $0["type"] as? String == t } }

    /// Runs the storm under a host-wide tracer (or one limited with --netns); returns the live
    /// records, the client's report, the namespace and the server's port.
    func storm(_ family: String, port: UInt16, limitToNamespace: Bool, file: String) throws
        -> (live: [[String: Any]], client: [String: Any], netns: UInt32)
    {
        let container = try Container("tw\(family)", subgroups: ["client"])
        defer { container.remove() }
        for (key, value) in [("ip_local_port_range", "40000 40199"), ("tcp_tw_reuse", "0")] {
            _ = try command([
                "/usr/sbin/ip", "netns", "exec", container.name, "/bin/sh", "-c", "echo \(value) > /proc/sys/net/ipv4/\(key)",
            ])
        }
        let (client, out) = try container.start(timeWaitStorm, [family, String(port)], cgroup: container.cgroup + "/client")
        try #require(try LeakyServer.readLine(out) == "ready", "the storm did not start")
        // Host-wide, it sees the other kernel tests' storms too (they run in parallel): a ring
        // large enough that none of it is dropped, checked below.
        let (tracer, _) = try Binary.start(
            ["--format", "json", "--output", file, "--ring-buffer-size", "64M"] + (limitToNamespace ? ["--netns", container.name] : []))
        container.send("go", to: client)
        let report = try LeakyServer.readLine(out)
        usleep(500_000)  // the last close's records
        kill(tracer.processIdentifier, SIGTERM)
        tracer.waitUntilExit()
        #expect(tracer.terminationStatus == 0)
        let result = try #require(try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any], "client said \(report)")
        return (jsonLines(try String(contentsOfFile: file, encoding: .utf8)), result, container.inode)
    }

    func check(_ family: String, limitToNamespace: Bool) throws {
        try KernelGate.check()
        let file = tempPath("storm\(family).jsonl")
        defer { unlink(file) }
        let port: UInt16 = family == "6" ? 23101 : 23100
        let (live, client, netns) = try storm(family, port: port, limitToNamespace: limitToNamespace, file: file)
        let pid = try #require(client["pid"] as? Int)
        #expect(client["failed"] as? Int == 40)
        let server = family == "6" ? "::1" : "127.0.0.1"
        let inNamespace = live.filter { ($0["netns"] as? Int).map(UInt32.init) == netns }

        // Exactly the application's 40 EADDRNOTAVAIL, with its pid and comm, to its server.
        let failed = inNamespace.filter { type("connection")($0) && $0["connect_error"] as? String == "EADDRNOTAVAIL" }
        #expect(failed.count == 40)
        for f in failed {
            let owner = f["owner"] as? [String: Any]
            #expect(owner?["pid"] as? Int == pid && owner?["comm"] as? String == "python3")
            #expect(f["raddr"] as? String == server && f["rport"] as? Int == Int(port))
            #expect(f["lport"] as? Int == 0)
        }
        #expect(inNamespace.filter { type("connection")($0) && !($0["connect_error"] is NSNull) && $0["connect_error"] != nil }.count == 40)
        let summary = try #require(live.last(where: type("summary")))
        let lost = summary["lost"] as? [String: Int] ?? [:]
        if limitToNamespace {
            #expect(lost["total"] == 0, "\(lost)")
        } else {
            // Host-wide, beside the other tests' storms: the tracer drops nothing, but the
            // kernel may skip a hit of theirs (docs/benchmarks.md: on this machine's PVM guest
            // kernel, a few sockets in some storms), which perf counts as `unseen`.
            #expect(lost["ringbuf_full"] == 0 && lost["recursion_misses"] == 0 && lost["undecodable"] == 0, "\(lost)")
            // Any skip was of other sockets: this storm's connections came whole (its listener,
            // older than the tracer, is partial).
            let broken = inNamespace.filter {
                type("connection")($0) && $0["role"] as? String != "listener" && ($0["gap"] as? Bool == true || $0["partial"] as? Bool == true)
            }
            #expect(broken.isEmpty, "\(broken.count) of the storm's connections with a gap or partial: \(lost)")
        }
        let byReason = summary["failed_connects_by_reason"] as? [String: Int] ?? [:]
        if limitToNamespace {
            #expect(byReason == ["EADDRNOTAVAIL": 40])
        } else {
            #expect((byReason["EADDRNOTAVAIL"] ?? 0) >= 40)
        }

        // python3 named as the maker of the TIME_WAIT towards its server.
        let makers = summary["time_wait_makers"] as? [[String: Any]] ?? []
        let maker = makers.first { ($0["raddr"] as? String) == server && ($0["rport"] as? Int) == Int(port) && ($0["netns"] as? Int).map(UInt32.init) == netns && ($0["time_wait"] as? Int ?? 0) > 0 }
        #expect((maker?["owner"] as? [String: Any])?["comm"] as? String == "python3", "\(makers)")
        #expect((maker?["owner"] as? [String: Any])?["pid"] as? Int == pid)
        #expect(maker?["time_wait"] as? Int == client["ok"] as? Int, "every successful connect left a timewait socket")

        // The namespace's ports, then a warning before the first failure.
        let ranges = live.filter { type("port_range")($0) && ($0["netns"] as? Int).map(UInt32.init) == netns }
        #expect(ranges.count == 1 && ranges.first?["usable"] as? Int == 200 && ranges.first?["tw_reuse"] as? Int == 0)
        let warnings = inNamespace.filter(type("port_pressure"))
        #expect(Set(warnings.compactMap { $0["level"] as? String }) == ["use_50", "use_80", "forecast_under_60s"])
        let firstWarning = try #require(warnings.compactMap { $0["time"] as? String }.min())
        let firstFailure = try #require(failed.compactMap { $0["time"] as? String }.min())
        #expect(firstWarning < firstFailure)
        #expect(warnings.allSatisfy { ($0["maker"] as? [String: Any])?["comm"] as? String == "python3" })
        #expect(warnings.allSatisfy { ($0["advice"] as? String ?? "").contains("tcp_tw_reuse=1") })
        #expect(warnings.allSatisfy { !($0["advice"] as? String ?? "").contains("recycle") && !($0["advice"] as? String ?? "").contains("fin_timeout") })

        // A replay of the recorded JSON gives the same numbers.
        chmod(file, 0o644)
        // Host-wide, the file holds the parallel tests' traffic too (tens of MB): time to read it.
        let r = try Binary.run(["report", "--format", "json", file], prefix: Binary.asNobody, timeout: 90)
        #expect(r.status == 0, "\(r.stderr)")
        let offline = jsonLines(r.stdout)
        let offlineSummary = try #require(offline.last(where: type("summary")))
        for key in ["failed_connects", "failed_connects_by_reason", "time_wait_makers", "port_pressure_warnings"] {
            #expect(
                NSDictionary(dictionary: [key: offlineSummary[key] ?? NSNull()]) == NSDictionary(dictionary: [key: summary[key] ?? NSNull()]),
                "\(key): live \(summary[key] ?? "nil"), replay \(offlineSummary[key] ?? "nil")")
        }
        func strip(_ r: [String: Any]) -> NSDictionary {
            var r = r
            r["container"] = nil
            return r as NSDictionary
        }
        #expect(offline.filter(type("port_pressure")).map(strip) == live.filter(type("port_pressure")).map(strip))

        // The HTML report says the same.
        let page = tempPath("storm\(family).html")
        defer { unlink(page) }
        let h = try Binary.run(["report", "--html", page, file], timeout: 90)
        #expect(h.status == 0, "\(h.stderr)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        // Host-wide, the page counts the other tests' failed connects too: what the summary said.
        #expect(html.contains("python3 (pid \(pid))") && html.contains("EADDRNOTAVAIL \(byReason["EADDRNOTAVAIL"] ?? 0)"))
        #expect(html.contains("forecast_under_60s"))
    }

    @Test func ipv4StormIsForetoldAndEveryFailedConnectCounted() throws {
        try check("4", limitToNamespace: false)
    }

    @Test func ipv6StormUnderNetnsFilter() throws {
        try check("6", limitToNamespace: true)
    }

    /// A pool's open connections hold local ports as much as timewait sockets do: 120 held open
    /// (from before the tracer started) and 30 short connections in a namespace of 200 ports are
    /// past half; the pressure says so from the census records, and a replay says the same.
    @Test func aPoolsOpenConnectionsCountAsHeldPorts() throws {
        try KernelGate.check()
        let port: UInt16 = 23102
        let file = tempPath("pool.jsonl")
        defer { unlink(file) }
        let container = try Container("twpool", subgroups: ["client"])
        defer { container.remove() }
        for (key, value) in [("ip_local_port_range", "40000 40199"), ("tcp_tw_reuse", "0")] {
            _ = try command([
                "/usr/sbin/ip", "netns", "exec", container.name, "/bin/sh", "-c", "echo \(value) > /proc/sys/net/ipv4/\(key)",
            ])
        }
        let (client, out) = try container.start(poolAndChurn, [String(port)], cgroup: container.cgroup + "/client")
        defer { container.send("", to: client) }
        try #require(try LeakyServer.readLine(out) == "ready", "the pool did not open")
        let (tracer, _) = try Binary.start(
            ["--format", "json", "--output", file, "--netns", container.name, "--census-interval", "1s"])
        // A census record has the pool before the churn starts.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").contains("\"type\":\"census\"") {
            usleep(100_000)
        }
        container.send("go", to: client)
        let report = try LeakyServer.readLine(out)
        usleep(500_000)
        kill(tracer.processIdentifier, SIGTERM)
        tracer.waitUntilExit()
        #expect(tracer.terminationStatus == 0)
        #expect(report.contains("pid"), "client said \(report)")

        let live = jsonLines(try String(contentsOfFile: file, encoding: .utf8))
        let census = try #require(live.first(where: type("census")))
        let exhaustion = census["port_exhaustion"] as? [[String: Any]] ?? []
        let toServer = exhaustion.first { $0["rport"] as? Int == Int(port) }
        #expect(toServer?["open"] as? Int == 120, "\(exhaustion)")
        let warnings = live.filter(type("port_pressure"))
        // Alone the 30 timewait sockets are 15 %: past half only with the pool's 120.
        let half = try #require(warnings.first { $0["level"] as? String == "use_50" }, "\(warnings)")
        #expect(half["open"] as? Int == 120 && (half["in_use"] as? Int ?? 0) > 120)
        #expect(warnings.allSatisfy { $0["level"] as? String != "use_80" }, "150 of 200 at most: \(warnings)")
        // The steady state is what the pool leaves: 80 ports over 60 s.
        #expect(abs((half["exhausted_at_per_s"] as? Double ?? 0) - 80.0 / 60) < 0.01)

        chmod(file, 0o644)
        let r = try Binary.run(["report", "--format", "json", file], prefix: Binary.asNobody, timeout: 90)
        #expect(r.status == 0, "\(r.stderr)")
        func strip(_ r: [String: Any]) -> NSDictionary {
            var r = r
            r["container"] = nil
            return r as NSDictionary
        }
        #expect(jsonLines(r.stdout).filter(type("port_pressure")).map(strip) == warnings.map(strip))
    }

    /// A port bound but not listening answers the SYN with an RST: connect() fails with
    /// ECONNREFUSED, which the kernel set in sk_err before the socket went SYN_SENT -> CLOSE.
    @Test func refusedConnectsAreNamedFromTheSocketsError() throws {
        try KernelGate.check()
        let (fd, port) = try Loopback.bound(.v4)
        defer { close(fd) }
        var filter = TraceFilter()
        filter.ports = [port]
        let collector = try Collector(filter: filter)
        var errors: [Int32] = []
        for _ in 0..<3 {
            do {
                close(try Loopback.connect(.v4, port: port))
            } catch let e as SocketError {
                errors.append(e.errno)
            }
        }
        #expect(errors == [ECONNREFUSED, ECONNREFUSED, ECONNREFUSED])
        try collector.collect(atLeast: 6)
        var table = ConnectionTable()
        var summary = RunSummary(start: WallTime(nanoseconds: 0))
        var refused: [ConnectionRecord] = []
        for var t in collector.transitions {
            if let c = table.ingest(&t, summary: &summary).connection { refused.append(c) }
        }
        #expect(refused.count == 3 && refused.allSatisfy { $0.connectError == .connectionRefused && $0.identity.localPort != 0 })
        #expect(collector.transitions.filter { $0.new == .close }.allSatisfy { $0.counters?.socketError == UInt16(ECONNREFUSED) })
        #expect(summary.churn.failedConnects == [.connectionRefused: 3])
    }
}
