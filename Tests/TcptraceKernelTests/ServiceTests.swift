import Foundation
import Glibc
import Testing
import TcptraceHost
import TcptraceCore

/// Running as a service: the output file reopened on SIGHUP (logrotate), and the run as a
/// plain user holding only the capabilities it needs, dropping the rest after attach.
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct ServiceTests {
    func waitForFile(_ path: String, seconds: Double = 10) -> Bool {
        eventually(seconds: seconds, every: 0.002) { access(path, F_OK) == 0 }
    }

    /// The connection storm of the rotation test: `count` connections to `port`, client closing
    /// first, on a thread of its own; in bursts of 10 with a breath in between, so that a tracer
    /// slower than the storm (a debug build handles about 12,000 lines/s here) catches up and
    /// returns to its loop, where it reopens, while the storm lasts.
    func storm(_ count: Int, listener: Int32, port: UInt16) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let served = Loopback.serve(listener, count: count)
            for i in 0..<count {
                guard let c = try? Loopback.connect(.v4, port: port) else { break }
                close(c)
                if i % 10 == 9 { usleep(20_000) }
            }
            served.wait()
            done.signal()
        }
        return done
    }

    @Test func sighupStormAcrossRenamesKeepsEveryLineExactlyOnce() throws {
        try KernelGate.check()
        let file = tempPath("rotate.jsonl")
        var files: [String] = []
        defer { for f in files + [file] { unlink(f) } }
        let (listener, port) = try Loopback.bound(.v4, port: 31310)
        defer { close(listener) }
        try Loopback.listen(listener)
        let (p, err) = try Binary.start(["--format", "json", "--output", file, "--port", String(port), "--census-interval", "200ms"])
        let connections = 2000
        let done = storm(connections, listener: listener, port: port)
        // Rotate as logrotate does (rename, then SIGHUP), with SIGHUPs in bursts and in between:
        // until the storm is over and at least 30 times.
        var finished = false
        while !finished || files.count < 30 {
            let rotated = "\(file).\(files.count + 1)"
            try #require(rename(file, rotated) == 0, "rename: \(String(cString: strerror(errno)))")
            files.append(rotated)
            for _ in 0..<3 { kill(p.processIdentifier, SIGHUP) }
            try #require(waitForFile(file), "the tracer did not reopen \(file) after SIGHUP")
            kill(p.processIdentifier, SIGHUP)  // a reopen with nothing renamed appends to the same file
            finished = finished || done.wait(timeout: .now() + .milliseconds(20)) == .success
        }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(!stderr.contains("failed"), "\(stderr)")

        var lines: [String] = []
        var filesWithTransitions = 0
        for f in files + [file] {
            let text = try String(contentsOfFile: f, encoding: .utf8)
            #expect(text.isEmpty || text.hasSuffix("\n"), "\(f) ends with a whole line")
            let own = text.split(separator: "\n").map(String.init)
            if own.contains(where: { $0.contains("\"type\":\"transition\"") }) { filesWithTransitions += 1 }
            lines += own
        }
        // Every line is a whole JSON object (jsonLines records an issue for any other), and none twice.
        let records = jsonLines(lines.joined(separator: "\n"))
        #expect(records.count == lines.count)
        #expect(Set(lines).count == lines.count, "a line was written twice")
        let summaries = records.filter { $0["type"] as? String == "summary" }
        try #require(summaries.count == 1, "one summary across the files")
        let summary = summaries[0]
        let transitions = records.filter { $0["type"] as? String == "transition" }
        #expect(summary["events"] as? Int == transitions.count, "every transition the run counted is in one of the files")
        let kernel = try #require(summary["kernel"] as? [String: Int])
        let lost = try #require(summary["lost"] as? [String: Int])
        #expect(kernel["seen"]! - kernel["filtered"]! == transitions.count + lost["ringbuf_full"]!, "user space loses nothing")
        #expect(transitions.count + lost["recursion_misses"]! >= connections * 10 * 99 / 100, "\(transitions.count) transitions")
        #expect(filesWithTransitions >= 2, "the rotations split the stream: \(filesWithTransitions) files hold transitions")
        #expect(records.contains { $0["type"] as? String == "census" })
    }

    @Test func failedReopenKeepsWritingToTheOldFile() throws {
        try KernelGate.check()
        let dir = tempPath("gone")
        let file = "\(dir)/out.jsonl", moved = tempPath("moved.jsonl")
        mkdir(dir, 0o755)
        defer {
            unlink(moved)
            unlink(file)
            rmdir(dir)
        }
        let (listener, port) = try Loopback.bound(.v4, port: 31311)
        defer { close(listener) }
        let (p, err) = try Binary.start(["--format", "json", "--output", file, "--port", String(port)])
        try #require(rename(file, moved) == 0 && rmdir(dir) == 0)
        kill(p.processIdentifier, SIGHUP)
        try Loopback.listen(listener)
        let served = Loopback.serve(listener, count: 5)
        for _ in 0..<5 { close(try Loopback.connect(.v4, port: port)) }
        served.wait()
        usleep(300_000)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let complaint = stderr.split(separator: "\n").filter { $0.contains("reopening output file \(file) failed") }
        #expect(complaint.count == 1 && complaint[0].contains("still writing to the file opened before"), "\(stderr)")
        let records = jsonLines(try String(contentsOfFile: moved, encoding: .utf8))
        let transitions = records.filter { $0["type"] as? String == "transition" }
        #expect(records.last?["type"] as? String == "summary")
        #expect(records.last?["events"] as? Int == transitions.count)
        #expect(transitions.count >= 5 * 10 - 2, "the connections after the failed reopen are in the old file")
    }

    @Test func textOutputStartsEveryNewFileWithItsHeader() throws {
        try KernelGate.check()
        let file = tempPath("text.log")
        defer {
            unlink(file)
            unlink(file + ".1")
        }
        let (listener, port) = try Loopback.bound(.v4, port: 31314)
        defer { close(listener) }
        let (p, _) = try Binary.start(["--output", file, "--port", String(port)])
        try #require(rename(file, file + ".1") == 0)
        kill(p.processIdentifier, SIGHUP)
        try #require(waitForFile(file))
        kill(p.processIdentifier, SIGHUP)  // the same file again: no second header
        try Loopback.listen(listener)
        let served = Loopback.serve(listener, count: 1)
        close(try Loopback.connect(.v4, port: port))
        served.wait()
        usleep(300_000)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let old = try String(contentsOfFile: file + ".1", encoding: .utf8), new = try String(contentsOfFile: file, encoding: .utf8)
        #expect(old.hasPrefix("TIME ") && old.split(separator: "\n").count == 1, "\(old)")
        #expect(new.hasPrefix("TIME ") && new.components(separatedBy: "MS_IN_OLD").count == 2, "\(new)")
        #expect(new.contains("CLOSE        -> SYN_SENT"), "\(new)")
    }

    @Test func sighupOnStandardOutputChangesNothing() throws {
        try KernelGate.check()
        let out = tempPath("stdout.jsonl")
        defer { unlink(out) }
        #expect(FileManager.default.createFile(atPath: out, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: out))
        let (listener, port) = try Loopback.bound(.v4, port: 31312)
        defer { close(listener) }
        let (p, _) = try Binary.start(["--format", "json", "--port", String(port)], stdout: handle)
        for _ in 0..<5 { kill(p.processIdentifier, SIGHUP) }
        try Loopback.listen(listener)
        let served = Loopback.serve(listener, count: 3)
        for _ in 0..<3 { close(try Loopback.connect(.v4, port: port)) }
        served.wait()
        usleep(300_000)
        #expect(p.isRunning, "SIGHUP does not end the run")
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let records = jsonLines(try String(contentsOfFile: out, encoding: .utf8))
        #expect(records.last?["events"] as? Int == records.filter { $0["type"] as? String == "transition" }.count)
        #expect(records.filter { $0["type"] as? String == "transition" }.count >= 3 * 10 - 2)
    }

    @Test func sighupOnATerminalEndsTheRunQuietly() throws {
        try KernelGate.check()
        // script(1) gives the tracer a pseudo-terminal as standard output and passes on its status.
        let p = Process()
        let out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        p.arguments = ["-qfec", "\(Binary.path) --port 31313", "/dev/null"]
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        var seen = ""
        let deadline = Date().addingTimeInterval(20)
        while !seen.contains("OWNER") && Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        try #require(seen.contains("tracing TCP state transitions"), "\(seen)")
        // The tracer is script's child (or its shell's): found by its arguments.
        let tracer = try #require(
            try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap(Int32.init).first { pid in
                let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
                return String(decoding: cmdline, as: UTF8.self) == "\(Binary.path)\0--port\031313\0"
            })
        kill(tracer, SIGHUP)
        eventually(seconds: 10, every: 0.02) { !p.isRunning }
        if p.isRunning { kill(tracer, SIGKILL) }
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "the hung-up terminal ends the run with status 0")
    }

    // MARK: - Capabilities

    static let runCapabilities = "+bpf,+perfmon,+sys_admin,+sys_ptrace,+dac_read_search,+sys_nice"
    /// What setpriv leaves in the bounding set, which the tracer cannot cut without CAP_SETPCAP.
    static let bounding = "CAP_DAC_READ_SEARCH CAP_SYS_PTRACE CAP_SYS_ADMIN CAP_SYS_NICE CAP_PERFMON CAP_BPF"

    /// setpriv as user nobody holding exactly `caps` (ambient, so they survive the exec).
    static func asNobody(with caps: String) -> [String] {
        [
            "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all,\(caps)",
            "--ambient-caps=-all,\(caps)", "--bounding-set=-all,\(caps)",
        ]
    }

    /// The capability sets of every thread of `pid`, from /proc (hex masks by field name).
    func threadCapabilities(_ pid: Int32) throws -> [[String: String]] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").map { tid in
            let status = try String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8)
            var fields: [String: String] = [:]
            for line in status.split(separator: "\n") {
                let kv = line.split(separator: ":", maxSplits: 1)
                if kv.count == 2 { fields[String(kv[0])] = kv[1].trimmingCharacters(in: .whitespaces) }
            }
            return fields
        }
    }

    @Test func nobodyWithTheCapabilitiesTracesAndKeepsOnlyWhatItUses() throws {
        try KernelGate.check()
        let file = tempPath("nobody.jsonl")
        defer { unlink(file) }
        let (listener, port) = try Loopback.bound(.v4, port: 31320)
        defer { close(listener) }
        let (p, _) = try Binary.start(
            ["--format", "json", "--output", file, "--port", String(port), "--close-wait-threshold", "1s"],
            prefix: Self.asNobody(with: Self.runCapabilities))
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        // Attached and capabilities dropped before the banner: what is left, in every thread.
        let kept = Capabilities([.sysAdmin, .sysPtrace, .dacReadSearch, .sysNice])
        for t in try threadCapabilities(p.processIdentifier) {
            #expect(t["Uid"]?.hasPrefix("65534") == true, "\(t)")
            let eff = UInt64(t["CapEff"] ?? "", radix: 16).map(Capabilities.init(rawValue:))
            let prm = UInt64(t["CapPrm"] ?? "", radix: 16).map(Capabilities.init(rawValue:))
            // CAP_BPF stays only on kernels where reading BPF maps by fd needs it (before 6.5).
            #expect(eff == prm && (eff == kept || eff == kept.union(.bpf)), "CapEff \(t["CapEff"] ?? "?")")
            #expect(eff?.contains(.perfmon) == false)
            #expect(t["CapAmb"] == "0000000000000000" && t["CapInh"] == "0000000000000000")
            #expect(t["NoNewPrivs"] == "1")
        }
        // A client that closes, and a server socket this (root) process leaves in CLOSE_WAIT: its
        // holder is found through /proc/<root pid>/fd, which takes the capabilities kept.
        try Loopback.listen(listener)
        let client = try Loopback.connect(.v4, port: port)
        let server = try Loopback.accept(listener)
        defer { close(server) }
        close(client)
        waitForRecord(in: file, seconds: 15) { $0["event"] as? String == "lingering" }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let records = jsonLines(try String(contentsOfFile: file, encoding: .utf8))
        let paths = Dictionary(grouping: records.filter { $0["type"] as? String == "transition" }) { $0["cookie"] as? Int ?? 0 }
            .mapValues { $0.map { "\($0["old"] as? String ?? "")->\($0["new"] as? String ?? "")" } }
        #expect(paths.values.contains(clientPath), "\(paths)")
        let lingerer = try #require(records.first { $0["type"] as? String == "lingerer" && $0["event"] as? String == "lingering" })
        let holder = try #require(lingerer["holder"] as? [String: Any], "\(lingerer)")
        #expect(holder["pid"] as? Int == Int(getpid()) && holder["fd"] as? Int == Int(server), "\(holder)")
        #expect(records.last?["type"] as? String == "summary")
    }

    @Test func verboseNamesTheCapabilitiesLeft() throws {
        try KernelGate.check()
        let r = try Binary.run(["--duration", "300ms", "--port", "31321", "--verbose"], prefix: Self.asNobody(with: Self.runCapabilities))
        #expect(r.status == 0, "\(r.stderr)")
        let line = try #require(r.stderr.split(separator: "\n").first { $0.contains("capabilities after attach:") }, "\(r.stderr)")
        #expect(line.hasSuffix("capabilities after attach: CAP_DAC_READ_SEARCH CAP_SYS_PTRACE CAP_SYS_ADMIN CAP_SYS_NICE; bounding set: \(Self.bounding); no_new_privs set"), "\(line)")
        // Root in its own network namespace only: no setns, so CAP_SYS_ADMIN goes too, and with
        // CAP_SETPCAP the bounding set is cut to what is left.
        let root = try Binary.run(["--duration", "300ms", "--port", "31321", "--netns", "host", "--verbose"])
        #expect(root.status == 0, "\(root.stderr)")
        let rootLine = try #require(root.stderr.split(separator: "\n").first { $0.contains("capabilities after attach:") })
        #expect(
            rootLine.hasSuffix(
                "capabilities after attach: CAP_DAC_READ_SEARCH CAP_SYS_PTRACE CAP_SYS_NICE; bounding set: CAP_DAC_READ_SEARCH CAP_SYS_PTRACE CAP_SYS_NICE; no_new_privs set"),
            "\(rootLine)")
    }

    @Test(arguments: [
        ("+bpf,+perfmon", "missing CAP_SYS_ADMIN: needed to enter other network namespaces"),
        ("+bpf,+perfmon,+sys_admin", "missing CAP_SYS_PTRACE: needed to read other users' /proc/PID/fd"),
        ("+bpf,+perfmon,+sys_admin,+sys_ptrace", "missing CAP_DAC_READ_SEARCH: needed to read other users' /proc/PID/fd"),
        ("+bpf,+sys_admin,+sys_ptrace,+dac_read_search,+net_admin", nil),
        ("+perfmon,+sys_ptrace,+dac_read_search", "missing CAP_BPF: needed to load and attach the BPF program"),
    ])
    func tooFewCapabilitiesExit77NamingTheMissingOne(caps: String, message: String?) throws {
        try KernelGate.check()
        let r = try Binary.run(["--duration", "200ms", "--port", "31322"], prefix: Self.asNobody(with: caps))
        guard let message else {
            // CAP_SYS_ADMIN stands in for CAP_PERFMON, as on kernels before 5.8.
            #expect(r.status == 0, "\(caps): \(r.stderr)")
            return
        }
        #expect(r.status == ExitStatus.noPermission.rawValue, "\(caps): \(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("tcptrace-bpf: \(message)"), "\(caps): \(r.stderr)")
    }
}
