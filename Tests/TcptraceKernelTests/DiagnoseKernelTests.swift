import Foundation
import Glibc
import Testing
import TcptraceCore

/// `diagnose` as a monitoring check runs it: the quiet host (exit 0, nothing above info), a leak
/// (named, exit 1 or 2), a namespace vanishing mid-run (said once, the rest intact), and the
/// metrics the shipped alert rules and dashboard use, present on a real run's page.
/// Ports (diagnose helper's range 24000-24499): 24400 the metrics, 24401-24402 traffic.
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct DiagnoseKernelTests {
    /// Starts the binary with `args`; its outputs are read when it ends.
    func start(_ args: [String]) throws -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Binary.path)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return (p, out, err)
    }

    /// Starts `diagnose --verbose …` and returns once it has attached (it says so with
    /// --verbose only: otherwise it prints nothing until the end); what it said so far is kept.
    func startAttached(_ args: [String]) throws -> (Process, Pipe, Pipe, String) {
        let r = try start(["diagnose", "--verbose"] + args)
        var seen = Data()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let chunk = r.2.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
            if String(decoding: seen, as: UTF8.self).contains("capabilities after attach") { break }
        }
        return (r.0, r.1, r.2, String(decoding: seen, as: UTF8.self))
    }

    func finish(_ r: (Process, Pipe, Pipe)) -> (status: Int32, out: String, err: String) {
        let out = r.1.fileHandleForReading.readDataToEndOfFile()
        let err = r.2.fileHandleForReading.readDataToEndOfFile()
        r.0.waitUntilExit()
        return (r.0.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    /// A quiet namespace (other kernel tests may run at the same time on the host: their leaks
    /// and storms are real findings there): nothing above info, exit 0.
    @Test func aQuietHostIsOKWithNothingAboveInfo() throws {
        try KernelGate.check()
        let container = try Container("dgquiet", subgroups: ["client"])
        defer { container.remove() }
        let page = tempPath("quiet.html")
        defer { unlink(page) }
        let text = finish(try start(["diagnose", "--duration", "4s", "--netns", container.name, "--html", page]))
        print("diagnose on the quiet host (text):\n\(text.out)")
        #expect(text.status == 0, "\(text.out)\(text.err)")
        #expect(text.out.hasPrefix("TCP OK: "), "\(text.out)")
        #expect(!text.out.contains("[WARNING]") && !text.out.contains("[CRITICAL]"), "\(text.out)")
        #expect(text.err.isEmpty, "no progress line when standard error is no terminal: \(text.err)")
        let html = (try? String(contentsOfFile: page, encoding: .utf8)) ?? ""
        #expect(html.contains("<h2>Findings</h2>") && html.contains("TCP OK: nothing found"), "the page opens with the findings")

        let json = finish(try start(["diagnose", "--duration", "3s", "--format", "json", "--netns", container.name]))
        #expect(json.status == 0)
        let lines = json.out.split(separator: "\n")
        let records = jsonLines(json.out)
        #expect(records.count == lines.count && !records.isEmpty, "every line parses: \(json.out)")
        let verdict = try #require(records.last)
        #expect(verdict["type"] as? String == "diagnosis" && verdict["status"] as? String == "OK" && verdict["exit_status"] as? Int == 0)
        for r in records.dropLast() {
            #expect(r["type"] as? String == "finding" && r["severity"] as? String == "info", "\(r)")
        }
    }

    @Test func aLeakIsNamedWithItsHolderAndAVanishingNamespaceIsSaidOnce() throws {
        try KernelGate.check()
        let server = try LeakyServer()
        let ns = "diagnose-vanish-\(getpid())"
        _ = try Command.run(["ip", "netns", "add", ns])
        var deleted = false
        defer { if !deleted { _ = try? Command.run(["ip", "netns", "del", ns]) } }
        let attached = try startAttached(["--duration", "7s", "--close-wait-threshold", "1s", "--format", "json"])
        let run = (attached.0, attached.1, attached.2)
        for _ in 0..<3 { try server.leakOne(bytes: 5) }
        usleep(500_000)
        _ = try Command.run(["ip", "netns", "del", ns])
        deleted = true
        let r = finish(run)
        #expect(r.status == 1 || r.status == 2, "\(r.out)\(r.err)")
        let records = jsonLines(r.out)
        #expect(records.count == r.out.split(separator: "\n").count, "every line parses")
        // Other kernel tests may leak at the same time: this server's finding, whatever its rank.
        let first = try #require(records.first { ($0["subject"] as? [String: Any])?["pid"] as? Int == Int(server.pid) }, "\(r.out)")
        #expect(first["kind"] as? String == "close_wait_leak", "\(r.out)")
        let subject = first["subject"] as? [String: Any]
        #expect(subject?["pid"] as? Int == Int(server.pid), "\(first)")
        #expect((first["title"] as? String)?.contains("python3 (pid \(server.pid))") == true, "\(first)")
        let evidence = first["evidence"] as? [[String: Any]] ?? []
        #expect(evidence.contains { $0["name"] as? String == "close_wait_sockets" && ($0["value"] as? Double ?? 0) >= 3 }, "\(evidence)")
        #expect(records.last?["status"] as? String == (r.status == 2 ? "CRITICAL" : "WARNING"))
        _ = attached.3
        // The namespace that vanished: said once on standard error, and nothing else broke.
        // (Other tests' namespaces may vanish too: each is said once, this one among them.)
        let said = r.err.split(separator: "\n").filter { $0.contains("listen-queue findings for that namespace left out") }
        #expect(said.filter { $0.contains(ns) }.count <= 1 && Set(said).count == said.count, "\(r.err)")
    }

    @Test func everyMetricTheRulesAndTheDashboardUseIsOnARealPage() throws {
        try KernelGate.check()
        let port: UInt16 = 24400
        let (tracer, _) = try Binary.start([
            "--format", "json", "--output", "/dev/null", "--port", "24401", "--metrics-address", "127.0.0.1:\(port)",
        ])
        defer {
            if tracer.isRunning { kill(tracer.processIdentifier, SIGINT) }
            tracer.waitUntilExit()
        }
        let l = try Loopback.listening(.v4, port: 24401)
        defer { close(l) }
        let served = Loopback.serve(l, count: 3)
        for _ in 0..<3 { close(try Loopback.connect(.v4, port: 24401)) }
        served.wait()
        var page = ""
        // The census behind tcptrace_sockets comes within 5 s, the findings within 10 s.
        #expect(eventually(seconds: 15) {
            page = (try? command(["curl", "-s", "http://127.0.0.1:\(port)/metrics"])) ?? ""
            return page.contains("# TYPE tcptrace_sockets ") && page.contains("# TYPE tcptrace_findings ")
        }, "\(page)")
        let families = Set(page.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for file in ["deploy/prometheus/tcptrace-rules.yml", "deploy/grafana/tcptrace-dashboard.json"] {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            let used = Set(text.matches(of: /tcptrace_[a-z_]+/).map { String($0.output) })
            #expect(!used.isEmpty)
            for name in used {
                let base = name.replacing(/_(bucket|sum|count)$/, with: "")
                #expect(families.contains(name) || families.contains(base), "\(file) uses \(name), not on the page")
            }
        }
    }
}

extension DiagnoseKernelTests {
    /// The acceptance: the leak service (Tests/Fixtures/leak-service.c, 65 CLOSE_WAIT
    /// sockets three ways) and a TIME_WAIT storm through a 200-port range (tcp_tw_reuse=0) in a
    /// namespace of its own, at once: `diagnose --duration 15s` puts exactly those two at the top,
    /// the leaking process with its cause and opener, the storm's maker with its destination,
    /// port use and advice; exit 2 (both critical) and JSON that parses.
    @Test func aLeakAndATimeWaitStormAreTheTopTwo() throws {
        try KernelGate.check()
        let directory = tempPath("leak-bin")
        defer {
            unlink(directory + "/leak-service")
            rmdir(directory)
        }
        let binary = try LeakGroupTests.buildService(in: directory)

        let container = try Container("dgstorm", subgroups: ["client"])
        defer { container.remove() }
        for (key, value) in [("ip_local_port_range", "40000 40199"), ("tcp_tw_reuse", "0")] {
            _ = try command(["/usr/sbin/ip", "netns", "exec", container.name, "/bin/sh", "-c", "echo \(value) > /proc/sys/net/ipv4/\(key)"])
        }
        let port: UInt16 = 24410
        let (client, out) = try container.start(timeWaitStorm, ["4", String(port)], cgroup: container.cgroup + "/client")
        try #require(try LeakyServer.readLine(out) == "ready", "the storm did not start")

        // Both in the container's namespace, diagnosed there (other kernel tests may leak and storm
        // on the host at the same time); diagnose attached before the service opens its sockets,
        // so their opener stacks are taken.
        let attached = try startAttached(["--duration", "15s", "--close-wait-threshold", "1s", "--format", "json", "--netns", container.name])
        let run = (attached.0, attached.1, attached.2)
        let service = Process()
        service.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        service.arguments = ["netns", "exec", container.name, binary]
        let serviceOut = Pipe()
        service.standardOutput = serviceOut
        try service.run()
        let ready = String(decoding: serviceOut.fileHandleForReading.availableData, as: UTF8.self).split(separator: " ")
        let servicePID = ready.count >= 2 && ready[0] == "ready" ? Int(ready[1]) ?? 0 : 0
        let peer = ready.count >= 6 ? pid_t(ready[5].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 : 0
        defer {
            if peer > 0 { kill(peer, SIGKILL) }
            kill(service.processIdentifier, SIGKILL)
            service.waitUntilExit()
        }
        try #require(servicePID > 0, "leak-service did not start: \(ready)")
        container.send("go", to: client)
        let report = try LeakyServer.readLine(out)
        let storm = try #require(try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any], "client said \(report)")
        let r = finish(run)
        print("diagnose with a leak and a storm (json):\n\(r.out)")
        #expect(storm["failed"] as? Int == 40)
        #expect(r.status == 2, "\(r.err)")
        let records = jsonLines(r.out)
        #expect(records.count == r.out.split(separator: "\n").count && records.count >= 3, "every line parses")
        try #require(records.count >= 3)
        #expect(Set(records.prefix(2).compactMap { $0["kind"] as? String }) == ["close_wait_leak", "time_wait_pressure"], "\(r.out)")
        #expect(records.prefix(2).allSatisfy { $0["severity"] as? String == "critical" })

        let leak = try #require(records.first { $0["kind"] as? String == "close_wait_leak" })
        #expect((leak["subject"] as? [String: Any])?["pid"] as? Int == servicePID, "\(leak)")
        let title = leak["title"] as? String ?? ""
        #expect(title.contains("leak-service (pid \(servicePID))") && title.contains("causes: ") && title.contains("never accepted") && title.contains("unread"), "\(title)")
        #expect(title.contains("opened at ") && title.contains("fetch_from_"), "\(title)")

        let tw = try #require(records.first { $0["kind"] as? String == "time_wait_pressure" })
        let subject = tw["subject"] as? [String: Any]
        #expect(subject?["name"] as? String == "127.0.0.1:\(port)" && subject?["netns"] as? Int == Int(container.inode), "\(tw)")
        #expect(subject?["pid"] as? Int == storm["pid"] as? Int)
        let evidence = Dictionary((tw["evidence"] as? [[String: Any]] ?? []).map { ($0["name"] as? String ?? "", $0["value"] as? Double ?? -1) }) { a, _ in a }
        #expect((evidence["port_use"] ?? 0) >= 80, "\(evidence)")
        #expect(evidence["failed_eaddrnotavail"] == 40, "\(evidence)")
        let advice = tw["advice"] as? String ?? ""
        #expect(advice.contains("python3 (pid ") && advice.contains("tcp_tw_reuse=1") && advice.contains("ip_local_port_range"), "\(advice)")
        #expect(records.last?["type"] as? String == "diagnosis" && records.last?["status"] as? String == "CRITICAL")
    }
}
