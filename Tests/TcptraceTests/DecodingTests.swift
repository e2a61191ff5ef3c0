import Glibc
import CTcptraceProgram
import Testing
import TcptraceCore
@testable import TcptraceKernel
@testable import TcptraceHost

@Suite struct DecodingTests {
    let clock = MonotonicToWall(wallNow: WallTime(nanoseconds: 1_795_614_010_000_000_000), monotonicNowNs: 1_000)

    func rawEvent(_ body: (inout tcptrace_event) -> Void) -> [UInt8] {
        var e = tcptrace_event()
        body(&e)
        return withUnsafeBytes(of: e) { Array($0) }
    }

    func setBytes<T>(_ tuple: inout T, _ bytes: [UInt8]) {
        withUnsafeMutableBytes(of: &tuple) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
    }

    @Test func decodesAnIPv4Event() throws {
        let raw = rawEvent { e in
            e.ts_ns = 1_000 + 5_000_000
            e.cookie = 77
            e.ns_in_old = 1_500_000
            e.family = 2
            e.lport = 40832
            e.rport = 8080
            e.oldstate = 2
            e.newstate = 1
            e.pid = 10
            e.owner_pid = 11
            e.inode = 555
            e.netns = 4_026_532_001
            e.cgroup_id = 0x1_0000_0007  // past 32 bits: ids are 64-bit
            e.flags = TCPTRACE_F_HAS_OLD_DURATION.rawValue | TCPTRACE_F_HAS_OWNER.rawValue | TCPTRACE_F_HAS_INODE.rawValue
                | TCPTRACE_F_HAS_NETNS.rawValue | TCPTRACE_F_HAS_CGROUP.rawValue
            setBytes(&e.saddr, [127, 0, 0, 1])
            setBytes(&e.daddr, [10, 0, 0, 2])
            setBytes(&e.comm, Array("swapper/0".utf8))
            setBytes(&e.owner_comm, Array("nginx".utf8))
        }
        let t = try raw.withUnsafeBytes { try EventDecoder.decode($0, clock: clock) }
        #expect(t.time.rfc3339 == "2026-11-25T13:40:10.005000000Z")
        #expect(t.identity.cookie == 77)
        #expect(t.identity.local.text == "127.0.0.1" && t.identity.remote.text == "10.0.0.2")
        #expect(t.identity.localPort == 40832 && t.identity.remotePort == 8080)
        #expect(t.old == .synSent && t.new == .established)
        #expect(t.nanosecondsInOld == 1_500_000)
        #expect(t.pid == 10 && t.comm == "swapper/0")
        #expect(t.owner == Owner(pid: 11, comm: "nginx"))
        #expect(t.inode == 555)
        #expect(t.identity.netns == 4_026_532_001 && t.identity.cgroup == 0x1_0000_0007)
        #expect(t.counters == nil && t.receiveQueue == nil)
    }

    @Test func flagsDecideWhatIsKnown() throws {
        let raw = rawEvent { e in
            e.family = 10
            e.ns_in_old = 99  // present but not flagged: unknown
            e.owner_pid = 5
            e.netns = 4_026_531_840  // present but not flagged: unknown
            e.cgroup_id = 1
            e.oldstate = 7
            e.newstate = 2
            var v6 = [UInt8](repeating: 0, count: 16)
            v6[15] = 1
            setBytes(&e.saddr, v6)
            setBytes(&e.daddr, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1])
            setBytes(&e.comm, [UInt8](repeating: 0x41, count: 16))  // no NUL at all
        }
        let t = try raw.withUnsafeBytes { try EventDecoder.decode($0, clock: clock) }
        #expect(t.nanosecondsInOld == nil)
        #expect(t.owner == nil)
        #expect(t.identity.netns == nil && t.identity.cgroup == nil)
        #expect(t.identity.local.text == "::1")
        #expect(t.identity.remote.text == "127.0.0.1")
        #expect(t.comm.description == String(repeating: "A", count: 16))
    }

    @Test func unknownStateNumberIsKept() throws {
        let raw = rawEvent { e in
            e.family = 2
            e.oldstate = 1
            e.newstate = 42
        }
        let t = try raw.withUnsafeBytes { try EventDecoder.decode($0, clock: clock) }
        #expect(t.new.name == "UNKNOWN_42")
        #expect(!t.new.isKnown)
    }

    @Test func shortEventIsRejected() {
        let raw = [UInt8](repeating: 0, count: EventDecoder.eventSize - 1)
        #expect(throws: DecodeError.short(size: EventDecoder.eventSize - 1)) {
            try raw.withUnsafeBytes { try EventDecoder.decode($0, clock: clock) }
        }
        #expect(throws: DecodeError.short(size: 0)) {
            try EventDecoder.decode(UnsafeRawBufferPointer(start: nil, count: 0), clock: clock)
        }
    }

    @Test func unknownFamilyIsRejected() {
        let raw = rawEvent { e in e.family = 1 }
        #expect(throws: DecodeError.unknownFamily(1)) {
            try raw.withUnsafeBytes { try EventDecoder.decode($0, clock: clock) }
        }
    }
}

/// The embedded object must agree with bpf/tcptrace.h: a stale object cannot ship.
@Suite struct EmbeddedObjectTests {
    @Test func eventLayoutMatchesTheHeader() throws {
        #expect(EmbeddedObject.bytes.count > 1000)
        let problems = try EmbeddedObject.eventLayoutMismatches()
        #expect(problems.isEmpty, "embedded BPF object is stale; run make: \(problems)")
    }

    @Test func preflightNamesMissingBTF() {
        #expect(throws: SystemError.self) { try Preflight.checkKernel(btfPath: "/nonexistent/vmlinux") }
        do {
            try Preflight.checkKernel(btfPath: "/nonexistent/vmlinux")
        } catch {
            #expect(error.exitStatus == .unavailable)
            #expect(error.description.contains("kernel BTF not found"))
        }
    }

    @Test func preflightNamesMissingTracepoint() throws {
        // The object's own BTF is real BTF without the kernel's tracepoint typedef.
        let path = "/tmp/tcptrace-test-\(getpid())-obj.o"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        _ = write(fd, EmbeddedObject.bytes.baseAddress, EmbeddedObject.bytes.count)
        close(fd)
        defer { unlink(path) }
        do {
            try Preflight.checkKernel(btfPath: path)
            Issue.record("expected an error")
        } catch {
            #expect(error.exitStatus == .unavailable)
            #expect(error.description.contains("inet_sock_set_state"))
        }
    }

    @Test func capabilitiesAreReadFromStatus() throws {
        let path = "/tmp/tcptrace-test-\(getpid())-status"
        let text = "Name:\tx\nCapEff:\t000000c000000000\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        defer { unlink(path) }
        #expect(Preflight.effectiveCapabilities(statusPath: path) == 0xc0_0000_0000)
        #expect(Preflight.effectiveCapabilities(statusPath: "/nonexistent") == nil)
    }
}

/// The KASAN probe behind the fallback program's stack test (THREAD_SIZE doubles under KASAN).
@Suite struct KernelNameTests {
    func file(_ bytes: [UInt8]) -> String {
        let path = "/tmp/tcptrace-names-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        return path
    }

    @Test func findsWholeNamesOnlyAcrossReadChunks() {
        let name = Array("kasan_check_range".utf8)
        let plain = file([0] + Array("foo".utf8) + [0] + name + [0] + Array("bar".utf8) + [0])
        let longer = file([0] + name + Array("_x".utf8) + [0] + Array("x".utf8) + name + [0])
        // Across the 1 MiB read boundary.
        var big = [UInt8](repeating: 0x41, count: (1 << 20) - 5)
        big += [0] + name + [0]
        let straddling = file(big)
        defer { for p in [plain, longer, straddling] { unlink(p) } }
        #expect(Tracer.kernelNames(plain, contain: "kasan_check_range"))
        #expect(!Tracer.kernelNames(longer, contain: "kasan_check_range"))
        #expect(Tracer.kernelNames(straddling, contain: "kasan_check_range"))
        #expect(!Tracer.kernelNames("/nonexistent/btf", contain: "kasan_check_range"))
        #expect(Tracer.taskStackBytes(btfPath: plain) == 2 * Tracer.taskStackBytes(btfPath: longer))
    }
}
