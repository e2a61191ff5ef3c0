import Foundation
import Glibc
import Testing
import TcptraceCore

/// CLOSE_WAIT leaks grouped (issue 22): a C service built with frame pointers
/// (Tests/Fixtures/leak-service.c) leaks 30 client sockets from fetch_from_backend() (the peer
/// closed at once), 20 from fetch_from_cache() (10 bytes unread) and leaves 15 connections in a
/// listener's queue. JSON names the holder, the cause of each group and the opener function of
/// the client groups; text shows the 65 sockets in three group lines.
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct LeakGroupTests {
    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/leak-service.c").path

    /// The service, built with frame pointers, started; its pid and its peer's once all 65 leak.
    struct Service {
        let process: Process
        let pid: Int
        let peer: pid_t

        init(binary: String, arguments: [String] = []) throws {
            process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            let f = line.split(separator: " ")
            guard f.count >= 6, f[0] == "ready", let pid = Int(f[1]), let peer = pid_t(f[5].trimmingCharacters(in: .whitespacesAndNewlines))
            else {
                process.terminate()
                throw SocketError(op: "leak-service did not start: \(line)", errno: 0)
            }
            self.pid = pid
            self.peer = peer
        }

        func stop() {
            kill(peer, SIGKILL)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Builds the service with frame pointers into `directory` (made here; the caller removes
    /// it and the binary), named leak-service: its comm, which --comm selects.
    static func buildService(in directory: String) throws -> String {
        let cc = try Requirement.program("cc", package: "gcc")
        mkdir(directory, 0o755)
        let binary = directory + "/leak-service"
        let built = try Command.run([cc, "-O1", "-g", "-fno-omit-frame-pointer", "-o", binary, source])
        try #require(built.status == 0, Comment(rawValue: "cc failed: " + built.stderr))
        return binary
    }

    /// The service built and linked under a name of this run's own (`prefix-PID`: its comm, which
    /// --comm selects; another process named leak-service on the host, another test run's, would
    /// be selected too). Returns the name, the binary and what removes both.
    static func namedService(_ prefix: String) throws -> (comm: String, binary: String, remove: () -> Void) {
        let directory = tempPath(prefix + "-bin")
        let comm = "\(prefix)-\(getpid() % 100_000)"
        let binary = directory + "/" + comm
        let remove = {
            unlink(binary)
            unlink(directory + "/leak-service")
            rmdir(directory)
        }
        do {
            let built = try buildService(in: directory)
            try #require(link(built, binary) == 0, "link \(binary): \(String(cString: strerror(errno)))")
        } catch {
            remove()
            throw error
        }
        return (comm, binary, remove)
    }

    @Test func groupsNameHolderCauseAndOpener() throws {
        try KernelGate.check()
        let (comm, binary, remove) = try Self.namedService("leaksvc")
        defer { remove() }

        let json = tempPath("leaks.jsonl")
        let text = tempPath("leaks.txt")
        defer {
            unlink(json)
            unlink(text)
        }
        let common = ["--comm", comm, "--close-wait-threshold", "1s", "--opener-stacks"]
        let (jsonTracer, _) = try Binary.start(["--format", "json", "--output", json, "--events", "lingerers"] + common)
        let (textTracer, _) = try Binary.start(["--format", "text", "--output", text, "--events", "lingerers"] + common)
        let service = try Service(binary: binary)
        defer { service.stop() }
        // All 65 in groups: the sizes reach 30, 20 and 15 (a group can appear before its last socket).
        let sized = eventually(seconds: 10) {
            let sizes = Set(records(in: json).filter { $0["type"] as? String == "leak" }.compactMap { $0["sockets"] as? Int })
            return sizes.isSuperset(of: [30, 20, 15])
        }
        for p in [jsonTracer, textTracer] {
            kill(p.processIdentifier, SIGTERM)
            p.waitUntilExit()
        }
        #expect(sized, "leak groups of 30, 20 and 15 sockets within 10 s")

        let all = records(in: json)
        let exits = all.filter { $0["type"] as? String == "leak" && $0["event"] as? String == "exit" }
        #expect(exits.count == 3, "three groups at exit: \(exits)")
        func group(_ cause: String) -> [String: Any]? { exits.first { $0["cause"] as? String == cause } }
        let backend = try #require(group("not_closed"))
        let cache = try #require(group("unread"))
        let queue = try #require(group("not_accepted"))
        #expect(backend["sockets"] as? Int == 30)
        #expect(cache["sockets"] as? Int == 20)
        #expect(queue["sockets"] as? Int == 15)
        for g in [backend, cache, queue] {
            #expect((g["holder"] as? [String: Any])?["pid"] as? Int == service.pid, "the service holds every group: \(g)")
        }
        #expect(backend["role"] as? String == "client" && cache["role"] as? String == "client")
        #expect(queue["role"] as? String == "server", "the queued connections are the listener's")
        #expect((backend["opener"] as? String)?.contains("!fetch_from_backend+0x") == true, "\(backend)")
        #expect((cache["opener"] as? String)?.contains("!fetch_from_cache+0x") == true, "\(cache)")
        // Each stack is written once, before the groups naming it, and has the opener's frame.
        let stacks = all.filter { $0["type"] as? String == "stack" }
        #expect(Set(stacks.compactMap { $0["id"] as? Int }).count == stacks.count, "one stack record per id")
        let backendStack = try #require(stacks.first { $0["id"] as? Int == backend["stack"] as? Int })
        #expect((backendStack["frames"] as? [String])?.contains { $0.contains("!fetch_from_backend+0x") } == true)
        // The per-socket lingerer records are still there.
        #expect(all.filter { $0["type"] as? String == "lingerer" && $0["event"] as? String == "lingering" }.count == 65)

        let lines = (try? String(contentsOfFile: text, encoding: .utf8)) ?? ""
        #expect(!lines.contains(" LINGERER "), "text: no line per socket without --leak-sockets")
        let section = lines.components(separatedBy: "CLOSE_WAIT leaks: ").last ?? ""
        #expect(lines.contains("CLOSE_WAIT leaks: 3 groups, 65 sockets"), "\(lines)")
        for (n, cause) in [(30, "not_closed"), (20, "unread"), (15, "not_accepted")] {
            #expect(section.split(separator: "\n").contains { $0.hasPrefix("  \(n) ") && $0.contains(cause) }, "a \(n)-socket \(cause) line")
        }
    }

    /// The accept() path of opener stacks: 10 connections the service accepts in
    /// accept_request() and never closes (the peer closed) are a server group of their own,
    /// `not_closed`, whose opener is the function that called accept() — taken at
    /// syscalls:sys_exit_accept4, not at connect().
    @Test func acceptedLeaksNameTheCodeThatAcceptedThem() throws {
        try KernelGate.check()
        let (comm, binary, remove) = try Self.namedService("leakacc")
        defer { remove() }
        let json = tempPath("leaks-accept.jsonl")
        defer { unlink(json) }
        let (tracer, _) = try Binary.start([
            "--format", "json", "--output", json, "--events", "lingerers", "--comm", comm, "--close-wait-threshold", "1s",
            "--opener-stacks",
        ])
        let service = try Service(binary: binary, arguments: ["accepted"])
        defer { service.stop() }
        let sized = eventually(seconds: 10) {
            let sizes = Set(records(in: json).filter { $0["type"] as? String == "leak" }.compactMap { $0["sockets"] as? Int })
            return sizes.isSuperset(of: [30, 20, 15, 10])
        }
        kill(tracer.processIdentifier, SIGTERM)
        tracer.waitUntilExit()
        #expect(sized, "leak groups of 30, 20, 15 and 10 sockets within 10 s")
        let exits = records(in: json).filter { $0["type"] as? String == "leak" && $0["event"] as? String == "exit" }
        #expect(exits.count == 4, "\(exits)")
        let served = try #require(exits.first { $0["role"] as? String == "server" && $0["cause"] as? String == "not_closed" }, "\(exits)")
        #expect(served["sockets"] as? Int == 10)
        #expect((served["holder"] as? [String: Any])?["pid"] as? Int == service.pid)
        #expect((served["opener"] as? String)?.contains("!accept_request+0x") == true, "\(served)")
        // The client groups keep their connect() openers beside it.
        let backend = exits.first { $0["role"] as? String == "client" && $0["cause"] as? String == "not_closed" }
        #expect((backend?["opener"] as? String)?.contains("!fetch_from_backend+0x") == true, "\(backend ?? [:])")
    }
}

/// A real client library's pool: python3 urllib3 (Debian's python3-urllib3) keeps idle pooled
/// connections to nginx (Debian's nginx-light) open after nginx's short keepalive_timeout closed
/// its side: one `not_closed` group under python3, not a line per socket.
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct PooledClientLeakTests {
    static let port: UInt16 = 23_600  // the leak helper's loopback range

    @Test func urllib3PoolIsOneNotClosedGroup() throws {
        try KernelGate.check()
        let nginx = try Requirement.program("nginx", package: "nginx-light")
        try Requirement.that(FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/urllib3"), "python3-urllib3 is not installed")
        let dir = tempPath("nginx")
        mkdir(dir, 0o755)
        defer { _ = try? Command.run(["rm", "-rf", dir]) }
        let conf = """
            master_process off; daemon off; pid \(dir)/nginx.pid; error_log \(dir)/error.log;
            events { worker_connections 128; }
            http { access_log off; keepalive_timeout 1s; client_body_temp_path \(dir);
              server { listen 127.0.0.1:\(Self.port); location / { return 200 "ok\\n"; } } }
            """
        try conf.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: nginx)
        server.arguments = ["-c", dir + "/nginx.conf", "-p", dir]
        try server.run()
        defer {
            // SIGKILL: a child of the test runner may inherit SIGTERM blocked (one process: no master).
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        #expect(eventually(seconds: 5) { (try? Loopback.connect(.v4, port: Self.port)).map { close($0); return true } ?? false })

        let file = tempPath("pool.jsonl")
        defer { unlink(file) }
        let (tracer, _) = try Binary.start([
            "--format", "json", "--output", file, "--events", "lingerers", "--rport", String(Self.port), "--close-wait-threshold", "1s",
        ])
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        client.arguments = [
            "-c",
            """
            import sys, threading, time
            sys.path.insert(0, "/usr/lib/python3/dist-packages")
            import urllib3
            http = urllib3.PoolManager(maxsize=8, block=False)
            ts = [threading.Thread(target=lambda: http.request("GET", "http://127.0.0.1:\(Self.port)/")) for _ in range(8)]
            [t.start() for t in ts]; [t.join() for t in ts]
            print("ready", flush=True); time.sleep(600)
            """,
        ]
        let out = Pipe()
        client.standardOutput = out
        try client.run()
        defer {
            kill(client.processIdentifier, SIGKILL)
            client.waitUntilExit()
        }
        _ = out.fileHandleForReading.availableData
        let grouped = eventually(seconds: 8) {
            records(in: file).contains { $0["type"] as? String == "leak" && ($0["sockets"] as? Int ?? 0) >= 2 }
        }
        kill(tracer.processIdentifier, SIGTERM)
        tracer.waitUntilExit()
        #expect(grouped, "a leak group within 8 s")
        let exits = records(in: file).filter { $0["type"] as? String == "leak" && $0["event"] as? String == "exit" }
        #expect(exits.count == 1, "one group: \(exits)")
        let g = try #require(exits.first)
        #expect(g["cause"] as? String == "not_closed")
        #expect(g["role"] as? String == "client" && g["port"] as? Int == Int(Self.port))
        let holder = g["holder"] as? [String: Any]
        #expect(holder?["comm"] as? String == "python3" && holder?["pid"] as? Int == Int(client.processIdentifier))
        let lingerers = records(in: file).filter { $0["type"] as? String == "lingerer" && $0["event"] as? String == "lingering" }
        #expect(g["sockets"] as? Int == lingerers.count && lingerers.count >= 2, "every pooled socket in the one group")
    }
}
