import Foundation
import Glibc
import Testing
import TcptraceCore

/// `--metrics-address` and `--metrics-textfile` as users run them: a real Prometheus scraping
/// the tracer during real loopback traffic, bad scrapes, bad addresses and paths.
/// Ports (metrics helper's range): 31250-31253 traffic, 31290 Prometheus, 31291-31295 the tracer.
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct MetricsKernelTests {
    static let prometheus = "/usr/bin/prometheus"
    static let promtool = "/usr/bin/promtool"

    /// Prometheus (Debian's `prometheus`, with promtool): without it the test is skipped saying
    /// so, unless every test is required.
    func requirePrometheus() throws {
        try Requirement.that(
            access(Self.prometheus, X_OK) == 0 && access(Self.promtool, X_OK) == 0,
            "prometheus is not installed (Debian package prometheus; `sudo make test` installs it)")
    }

    /// `count` connections, each closed by the client first; the server side reads to EOF.
    func connections(_ count: Int, listener: Int32, port: UInt16) throws {
        let served = Loopback.serve(listener, count: count)
        for _ in 0..<count { close(try Loopback.connect(.v4, port: port)) }
        served.wait()
    }

    /// Sends `request` to 127.0.0.1:`port` and reads until the server closes (at most 15 s).
    /// nil when the connection failed or was reset before anything arrived.
    func exchange(port: UInt16, _ request: [UInt8], shutdownWrite: Bool = false) -> String? {
        guard let fd = try? Loopback.connect(.v4, port: port) else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if shutdownWrite { shutdown(fd, Int32(SHUT_WR)) }
        return read(fd)
    }

    func read(_ fd: Int32) -> String? {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { return out.isEmpty ? nil : String(decoding: out, as: UTF8.self) }
            if n == 0 { return String(decoding: out, as: UTF8.self) }
            out.append(contentsOf: buf[0..<n])
        }
    }

    func get(port: UInt16, _ path: String) -> String? {
        exchange(port: port, Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
    }

    /// The body of a 200 answer.
    func body(_ response: String?) -> String? {
        guard let response, response.hasPrefix("HTTP/1.1 200"), let r = response.range(of: "\r\n\r\n") else { return nil }
        return String(response[r.upperBound...])
    }

    /// `promtool check metrics` on `page`: its exit status and what it said.
    func promtoolCheck(_ page: String) throws -> (Int32, String) {
        let r = try Command.run([Self.promtool, "check", "metrics"], input: page)
        return (r.status, r.stdout + r.stderr)
    }

    /// The summary record at the end of a JSON lines file.
    func summary(_ file: String) throws -> [String: Any] {
        let records = jsonLines(try String(contentsOfFile: file, encoding: .utf8))
        let s = try #require(records.last)
        #expect(s["type"] as? String == "summary")
        return s
    }

    func stop(_ p: Process) {
        if p.isRunning { kill(p.processIdentifier, SIGINT) }
        p.waitUntilExit()
    }

    /// A Prometheus server on 127.0.0.1:31290 scraping `target` every second, in a directory of
    /// its own; ended and removed by `end`.
    final class PrometheusServer {
        let process = Process()
        let directory: String
        static let port: UInt16 = 31290

        init(directory: String, target: String) throws {
            self.directory = directory
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let config = """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                scrape_configs:
                  - job_name: tcptrace
                    static_configs:
                      - targets: ['\(target)']

                """
            try config.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: MetricsKernelTests.prometheus)
            process.arguments = [
                "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
                "--web.listen-address=127.0.0.1:\(Self.port)", "--log.level=warn",
            ]
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            let log = FileManager.default.createFile(atPath: directory + "/log", contents: nil)
            process.standardError = log ? FileHandle(forWritingAtPath: directory + "/log") : nil
            try process.run()
        }

        func end() {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            try? FileManager.default.removeItem(atPath: directory)
        }

        var log: String { (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? "" }

        /// The value of an instant query with one result; nil while there is none.
        func query(_ promql: String, tests: MetricsKernelTests) -> Double? {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            let q = promql.addingPercentEncoding(withAllowedCharacters: allowed)!
            guard let text = tests.body(tests.get(port: Self.port, "/api/v1/query?query=\(q)")),
                let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]], result.count == 1,
                let value = result[0]["value"] as? [Any], value.count == 2, let v = value[1] as? String
            else { return nil }
            return Double(v)
        }
    }

    @Test func prometheusScrapesTheTracerDuringTraffic() throws {
        try KernelGate.check()
        try requirePrometheus()
        let port: UInt16 = 31250
        let file = tempPath("prometheus.jsonl")
        defer { unlink(file) }
        let l = try Loopback.listening(.v4, port: port)
        defer { close(l) }
        let (tracer, _) = try Binary.start([
            "--format", "json", "--output", file, "--port", String(port), "--metrics-address", "127.0.0.1:31291",
        ])
        defer { stop(tracer) }
        let prometheus = try PrometheusServer(directory: tempPath("prometheus"), target: "127.0.0.1:31291")
        defer { prometheus.end() }
        #expect(
            eventually(seconds: 60) { get(port: PrometheusServer.port, "/-/ready")?.hasPrefix("HTTP/1.1 200") == true },
            "prometheus ready: \(prometheus.log)")
        #expect(eventually(seconds: 30) { prometheus.query(#"up{job="tcptrace"}"#, tests: self) == 1 }, "target up")

        // 5 connections held open: the census behind tcptrace_sockets sees 5 clients, 5 accepted.
        var held: [(Int32, Int32)] = []
        for _ in 0..<5 {
            let c = try Loopback.connect(.v4, port: port)
            held.append((c, try Loopback.accept(l)))
        }
        #expect(
            eventually(seconds: 30) { prometheus.query(#"tcptrace_sockets{state="ESTABLISHED"}"#, tests: self) == 10 },
            "ESTABLISHED: \(String(describing: prometheus.query(#"tcptrace_sockets{state="ESTABLISHED"}"#, tests: self)))")
        #expect(prometheus.query(#"tcptrace_sockets{state="LISTEN"}"#, tests: self) == 1)
        for (c, s) in held {
            close(c)
            close(s)
        }
        try connections(20, listener: l, port: port)

        // Every connection was counted: 25 connects, 25 client-side closes and 25 server-side.
        let expected: [(String, Double)] = [
            (#"tcptrace_transitions_total{from="SYN_SENT",to="ESTABLISHED"}"#, 25),
            (#"tcptrace_transitions_total{from="LISTEN",to="SYN_RECV"}"#, 25),
            (#"tcptrace_connections_closed_total{role="client",closed_by="local"}"#, 25),
            (#"tcptrace_connections_closed_total{role="server",closed_by="remote"}"#, 25),
            ("tcptrace_connect_duration_seconds_count", 25),
            (#"tcptrace_connect_duration_seconds_bucket{le="+Inf"}"#, 25),
            (#"tcptrace_state_duration_seconds_count{state="SYN_SENT"}"#, 25),
            ("sum(tcptrace_lost_events_total)", 0),
        ]
        for (q, want) in expected {
            #expect(eventually(seconds: 30) { prometheus.query(q, tests: self) == want }, "\(q): \(String(describing: prometheus.query(q, tests: self))) want \(want)")
        }
        #expect((prometheus.query("process_start_time_seconds", tests: self) ?? 0) > 1e9)
        #expect((prometheus.query("process_resident_memory_bytes", tests: self) ?? 0) > 0)

        // A scrape as Prometheus gets it passes promtool.
        let page = try #require(body(get(port: 31291, "/metrics")))
        let (status, said) = try promtoolCheck(page)
        #expect(status == 0, "promtool: \(said)")

        stop(tracer)
        #expect(tracer.terminationStatus == 0)
        let s = try summary(file)
        #expect((s["transitions"] as? [String: Int])?["SYN_SENT->ESTABLISHED"] == 25)
    }

    @Test func badScrapesNeitherStopTracingNorLoseEvents() throws {
        try KernelGate.check()
        let port: UInt16 = 31251
        let metricsPort: UInt16 = 31292
        let file = tempPath("badscrapes.jsonl")
        defer { unlink(file) }
        let l = try Loopback.listening(.v4, port: port)
        defer { close(l) }
        let (tracer, _) = try Binary.start([
            "--format", "json", "--output", file, "--port", String(port), "--metrics-address", "127.0.0.1:\(metricsPort)",
        ])
        defer { stop(tracer) }

        // A slow client: half a request line, then nothing.
        let slow = try Loopback.connect(.v4, port: metricsPort)
        defer { close(slow) }
        _ = Array("GET /metr".utf8).withUnsafeBytes { send(slow, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }

        // Traffic the tracer must count in full, while 1,000 clients scrape at once.
        let traffic = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? connections(50, listener: l, port: port)
            traffic.signal()
        }
        var clients: [Int32] = []
        for _ in 0..<1000 {
            guard let fd = try? Loopback.connect(.v4, port: metricsPort) else { continue }
            var timeout = timeval(tv_sec: 15, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            clients.append(fd)
        }
        #expect(clients.count == 1000, "every client connects (the tracer accepts, or queues)")
        let request = Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        for fd in clients { _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
        var answered = 0, busy = 0, closed = 0, other: [String] = []
        for fd in clients {
            let r = read(fd)
            close(fd)
            guard let r, !r.isEmpty else {
                closed += 1  // closed or reset: its slot's time ran out, or it was turned away
                continue
            }
            if body(r)?.contains("# TYPE tcptrace_transitions_total counter") == true {
                answered += 1
            } else if r.hasPrefix("HTTP/1.1 503 ") {
                busy += 1
            } else {
                other.append(String(r.prefix(80)))
            }
        }
        #expect(other.isEmpty, "answers are whole pages, 503, or a clean close: \(other.prefix(3))")
        #expect(answered >= 1, "answered \(answered), busy \(busy), closed \(closed)")
        traffic.wait()

        // An oversized request head: 431. Other methods: 405. A head that is not HTTP: 400.
        let oversized = exchange(port: metricsPort, Array("GET /".utf8) + [UInt8](repeating: 0x61, count: 9000))
        #expect(oversized?.hasPrefix("HTTP/1.1 431 ") == true, "\(oversized?.prefix(80) ?? "nil")")
        for method in ["POST", "DELETE", "PUT"] {
            let r = exchange(port: metricsPort, Array("\(method) /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n".utf8))
            #expect(r?.hasPrefix("HTTP/1.1 405 ") == true && r?.contains("Allow: GET, HEAD") == true, "\(method): \(r ?? "nil")")
        }
        #expect(exchange(port: metricsPort, Array("\u{16}\u{03}\u{01}\r\n\r\n".utf8))?.hasPrefix("HTTP/1.1 400 ") == true)
        let head = exchange(port: metricsPort, Array("HEAD /metrics HTTP/1.1\r\n\r\n".utf8))
        #expect(head?.hasPrefix("HTTP/1.1 200 ") == true && head?.hasSuffix("\r\n\r\n") == true)

        // The slow client was dropped when its time ran out (no answer to half a request).
        #expect(read(slow) == "", "the slow client is closed without an answer")

        // Still tracing: a good scrape shows all 50 connections (the snapshot is at most 1 s old).
        let line = #"tcptrace_transitions_total{from="SYN_SENT",to="ESTABLISHED"} 50"#
        #expect(eventually(seconds: 10) { body(get(port: metricsPort, "/metrics"))?.contains(line) == true })
        try connections(1, listener: l, port: port)

        stop(tracer)
        #expect(tracer.terminationStatus == 0)
        let s = try summary(file)
        #expect((s["transitions"] as? [String: Int])?["SYN_SENT->ESTABLISHED"] == 51, "\(s)")
        #expect((s["lost"] as? [String: Int])?["total"] == 0, "\(s)")
    }

    @Test func theTextfileIsReplacedWholeAndShowsLingerersByHolder() throws {
        try KernelGate.check()
        let port: UInt16 = 31252
        let dir = tempPath("textfile")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/tcptrace.prom"
        let l = try Loopback.listening(.v4, port: port)
        defer { close(l) }
        var server: LeakyServer? = nil
        let (tracer, _) = try Binary.start([
            "--format", "json", "--output", "/dev/null", "--port", "\(port),31253", "--metrics-textfile", path,
            "--close-wait-threshold", "1s",
        ])
        defer { stop(tracer) }
        #expect(FileManager.default.fileExists(atPath: path), "written at the start")
        func page() -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        func has(_ prefix: String, _ value: Int) -> Bool {
            page().split(separator: "\n").contains { $0.hasPrefix(prefix) && $0.hasSuffix(" \(value)") }
        }
        try connections(7, listener: l, port: port)
        #expect(eventually(seconds: 10) { has(#"tcptrace_transitions_total{from="SYN_SENT",to="ESTABLISHED"}"#, 7) })

        // Two CLOSE_WAIT lingerers held by python3: open now, then gone when it exits; the total stays.
        server = try LeakyServer(port: 31253)
        try server?.leakOne()
        try server?.leakOne()
        #expect(eventually(seconds: 15) { has(#"tcptrace_close_wait_lingerers{comm="python3","#, 2) }, "\(page())")
        server = nil  // killed: the kernel closes its sockets
        #expect(eventually(seconds: 15) { !page().contains("tcptrace_close_wait_lingerers{") }, "\(page())")
        #expect(has(#"tcptrace_close_wait_lingerers_total{comm="python3","#, 2))

        stop(tracer)
        let final = page()
        #expect(final.contains(#"tcptrace_connections_closed_total{role="client",closed_by="local"} 9"#), "7 and the 2 leaked")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["tcptrace.prom"], "no temporary file left")
        if access(Self.promtool, X_OK) == 0 {
            let (status, said) = try promtoolCheck(final)
            #expect(status == 0, "promtool: \(said)")
        }
    }

    @Test func anAddressThatCannotBeBoundIsOneLineAndItsOwnStatus() throws {
        try KernelGate.check()
        let taken = try Loopback.listening(.v4, port: 31293)
        defer { close(taken) }
        for (address, says) in [("127.0.0.1:31293", "Address already in use"), ("192.0.2.1:31294", "Cannot assign requested address")] {
            let r = try Binary.run(["--metrics-address", address, "--duration", "1s"])
            #expect(r.status == ExitStatus.cannotListen.rawValue, "\(address): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(address) && r.stderr.contains(says), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
        }
        let r = try Binary.run(["--metrics-textfile", "/nonexistent-dir/tcptrace.prom", "--duration", "1s"])
        #expect(r.status == ExitStatus.cannotCreate.rawValue, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("/nonexistent-dir/tcptrace.prom") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }
}
