import Foundation
import Glibc
import Testing
import TcptraceCore

/// The tcptrace-bpf executable as users run it: signals, files, pipes, exit codes.
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct BinaryTests {
    /// `count` connections to a fresh listener, each closed by the client first.
    func connections(_ count: Int, listener: Int32, port: UInt16) throws {
        try Loopback.listen(listener)
        let served = Loopback.serve(listener, count: count)
        for _ in 0..<count {
            let c = try Loopback.connect(.v4, port: port)
            close(c)
        }
        served.wait()
    }

    @Test func sigtermLeavesWholeJSONLinesEndingWithTheSummary() throws {
        try KernelGate.check()
        let file = tempPath("sigterm.jsonl")
        defer { unlink(file) }
        let (listener, port) = try Loopback.bound(.v4)
        let (p, _) = try Binary.start(["--format", "json", "--output", file, "--port", String(port)])
        try connections(20, listener: listener, port: port)
        close(listener)
        usleep(200_000)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.hasSuffix("}\n"), "ends with a whole line")
        let records = jsonLines(text)
        let transitions = records.filter { $0["type"] as? String == "transition" }
        // 20 clients and 20 accepted sockets (5 each) and the listener's 2.
        // User space loses nothing: every event the program kept reached the file.
        let final = records.last ?? [:]
        let kernel = final["kernel"] as? [String: Int] ?? [:]
        let lostCounts = final["lost"] as? [String: Int] ?? [:]
        #expect(
            (kernel["seen"] ?? -1) - (kernel["filtered"] ?? 0) == transitions.count + (lostCounts["ringbuf_full"] ?? 0),
            "\(final)")
        // The kernel side: every transition is delivered at most once (the fallback program never
        // handles a hit the main program handled) and delivered or counted as a recursion miss,
        // except rare hits for which the kernel calls neither program while perf still counts
        // them (bench/loss.sh, docs/benchmarks.md "Branch `loss`"); allow 1 %.
        let misses = lostCounts["recursion_misses"] ?? 0
        let identities = Set(transitions.map { "\($0["cookie"] ?? "") \($0["old"] ?? "") \($0["new"] ?? "")" })
        #expect(identities.count == transitions.count, "no transition delivered twice")
        #expect(
            transitions.count <= 20 * 10 + 2 && transitions.count + misses >= 20 * 10 + 2 - 2,
            "delivered \(transitions.count), misses \(misses), summary \(final)")
        let summary = try #require(records.last)
        #expect(summary["type"] as? String == "summary")
        #expect(summary["events"] as? Int == transitions.count)
        let lost = try #require(summary["lost"] as? [String: Int])
        #expect(lost["ringbuf_full"] == 0 && lost["undecodable"] == 0)
        // Besides transitions and connections, the namespace's port range once (the TIME_WAIT
        // view) and the census taken at the start (one record per namespace, then every 60 s).
        #expect(records.dropLast().allSatisfy { ["transition", "connection", "port_range", "census"].contains($0["type"] as? String) })
        #expect(records.contains { $0["type"] as? String == "census" }, "the census taken at the start")
        #expect((39...41).contains(records.filter { $0["type"] as? String == "connection" }.count), "20 clients, 20 accepted, 1 listener")
        // Times come from the kernel's clock: in order per socket, and each ms_in_old is the gap
        // since that socket's previous transition (the program stamps both with one clock read),
        // truncated to the microsecond as the JSON writes it.
        var previous: [Int: (time: Int64, new: String)] = [:]
        var gapsChecked = 0
        for t in transitions {
            let time = try #require(WallTime(rfc3339: t["time"] as? String ?? ""), "\(t)").nanoseconds
            let cookie = try #require(t["cookie"] as? Int, "\(t)")
            let (old, new) = (t["old"] as? String ?? "", t["new"] as? String ?? "")
            defer { previous[cookie] = (time, new) }
            guard let p = previous[cookie] else { continue }
            #expect(time >= p.time, "time goes back for socket \(cookie): \(t)")
            // A transition in between was lost (counted above): no gap to compare with.
            guard p.new == old else { continue }
            let ms = try #require(t["ms_in_old"] as? Double, "ms_in_old known after a seen transition: \(t)")
            let reported = Int64((ms * 1_000_000).rounded())
            #expect((0..<1_000).contains(time - p.time - reported), "ms_in_old \(ms) vs gap \(time - p.time) ns: \(t)")
            gapsChecked += 1
        }
        // Each connection has 4 gaps per socket, the listener 1; a missing transition costs 2.
        #expect(gapsChecked >= 20 * 8 + 1 - 2 * max(0, 20 * 10 + 2 - transitions.count), "\(gapsChecked) gaps checked")
    }

    @Test func tinyRingBufferReportsDrops() throws {
        try KernelGate.check()
        let file = tempPath("drops.jsonl")
        defer { unlink(file) }
        let (listener, port) = try Loopback.bound(.v4)
        let (p, _) = try Binary.start(["--format", "json", "--output", file, "--port", String(port), "--ring-buffer-size", "4096"])
        // Freeze the consumer so 2,000 events meet a 4 KiB ring (about 24 events).
        kill(p.processIdentifier, SIGSTOP)
        try connections(200, listener: listener, port: port)
        close(listener)
        kill(p.processIdentifier, SIGCONT)
        usleep(300_000)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let records = jsonLines(try String(contentsOfFile: file, encoding: .utf8))
        let summary = try #require(records.last)
        #expect(summary["type"] as? String == "summary")
        let lost = try #require(summary["lost"] as? [String: Int])
        let kernel = try #require(summary["kernel"] as? [String: Int])
        let events = try #require(summary["events"] as? Int)
        #expect(lost["ringbuf_full"]! > 0)
        let misses = lost["recursion_misses"]!
        #expect(kernel["seen"]! - kernel["filtered"]! == events + lost["ringbuf_full"]!, "user space loses nothing")
        #expect(
            events + lost["ringbuf_full"]! <= 2002 && events + lost["ringbuf_full"]! + misses >= 2002 - 20,
            "every transition (200 × 10 and the listener's 2) is delivered or counted as lost (but the rare uncounted kernel skip): \(summary)")
        #expect(records.filter { $0["type"] as? String == "transition" }.count == events)
    }

    @Test func textModeReportsLossOnStderr() throws {
        try KernelGate.check()
        let (listener, port) = try Loopback.bound(.v4)
        let devnull = FileHandle(forWritingAtPath: "/dev/null")!
        let (p, err) = try Binary.start(["--port", String(port), "--ring-buffer-size", "4096"], stdout: devnull)
        kill(p.processIdentifier, SIGSTOP)
        try connections(100, listener: listener, port: port)
        close(listener)
        kill(p.processIdentifier, SIGCONT)
        usleep(1_500_000)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr.contains("events: ring buffer full"), "\(stderr)")
    }

    @Test func closedPipeEndsQuietly() throws {
        try KernelGate.check()
        let (listener, port) = try Loopback.bound(.v4)
        let pipe = Pipe()
        let (p, err) = try Binary.start(["--format", "json", "--port", String(port)], stdout: pipe)
        try pipe.fileHandleForReading.close()
        try connections(50, listener: listener, port: port)
        close(listener)
        eventually(seconds: 5, every: 0.02) { !p.isRunning }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        #expect(p.terminationReason == .exit)
        #expect(p.terminationStatus == 0)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(!stderr.contains("error") && !stderr.contains("failed"), "\(stderr)")
    }

    @Test func durationEndsTheRun() throws {
        try KernelGate.check()
        let start = Date()
        let r = try Binary.run(["--format", "json", "--duration", "300ms", "--port", "1"])
        #expect(r.status == 0)
        #expect(Date().timeIntervalSince(start) < 10)
        // Nothing on the port: the census taken at the start (a record per namespace), the summary.
        let records = jsonLines(r.stdout)
        #expect(records.last?["type"] as? String == "summary")
        #expect(records.dropLast().allSatisfy { $0["type"] as? String == "census" } && records.count >= 2, "\(records)")
    }
}

@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct TimeWaitLiveTests {
    /// `ss -tan state time-wait` count for sockets with `port` on either side.
    func ssTimeWait(port: UInt16) throws -> Int {
        try command(["/usr/bin/ss", "-tanH", "state", "time-wait", "( sport = :\(port) or dport = :\(port) )"])
            .split(separator: "\n").filter { !$0.isEmpty }.count
    }

    @Test func timeWaitIsInferredCountedAndCensused() throws {
        try KernelGate.check()
        let file = tempPath("timewait.jsonl")
        defer { unlink(file) }
        let (listener, port) = try Loopback.bound(.v4)
        let (p, _) = try Binary.start(["--format", "json", "--output", file, "--port", String(port), "--census-interval", "1s"])
        try Loopback.listen(listener)
        let served = Loopback.serve(listener, count: 10)
        for _ in 0..<10 {
            let c = try Loopback.connect(.v4, port: port)
            close(c)  // the client closes first: it is the side that goes to TIME_WAIT
        }
        served.wait()
        usleep(1_600_000)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let inSS = try ssTimeWait(port: port)
        let records = jsonLines(try String(contentsOfFile: file, encoding: .utf8))
        // One census record per network namespace: this test's sockets are in the tracer's own.
        let census = try #require(
            records.last { $0["type"] as? String == "census" && $0["netns_name"] as? String == "host" }, "no census record")
        let states = try #require(census["states"] as? [String: Int])
        #expect((states["TIME_WAIT"] ?? 0) == inSS, "census agrees with ss (\(inSS))")
        let summary = try #require(records.last)
        let tw = try #require(summary["time_wait"] as? [String: Any])
        #expect(tw["total"] as? Int == 10, "10 clients closed first: 10 connections held by timewait sockets")
        let top = try #require((tw["top"] as? [[String: Any]])?.first)
        #expect(top["rport"] as? Int == Int(port) && top["count"] as? Int == 10)
        #expect(tw["overflow"] is Int, "TcpExtTCPTimeWaitOverflow growth is reported")
        let clients = records.filter { $0["type"] as? String == "connection" && $0["role"] as? String == "client" }
        #expect(clients.count == 10 && clients.allSatisfy { $0["time_wait"] as? Bool == true })
    }
}
