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

    /// A batch (aggregated mode): its earlier transitions from the states and times, each
    /// duration from the time before it, then the last one as a full event.
    func rawBatch(earlier: [(old: UInt8, new: UInt8, ts: UInt64)], entered: UInt64?, _ body: (inout tcptrace_event) -> Void) -> [UInt8] {
        var b = tcptrace_batch()
        body(&b.last)
        b.last.kind = UInt16(TCPTRACE_KIND_BATCH.rawValue)
        b.n_before = UInt8(earlier.count)
        b.entered_known = entered == nil ? 0 : 1
        b.entered_ns = entered ?? 0
        withUnsafeMutableBytes(of: &b.ts_ns) { ts in
            for (i, t) in earlier.enumerated() { ts.storeBytes(of: t.ts, toByteOffset: i * 8, as: UInt64.self) }
        }
        setBytes(&b.oldstate, earlier.map(\.old))
        setBytes(&b.newstate, earlier.map(\.new))
        return withUnsafeBytes(of: b) { Array($0) }
    }

    func decodeAll(_ raw: [UInt8], stopAfter limit: Int = .max) throws -> (transitions: [Transition], finished: Bool) {
        var out: [Transition] = []
        let finished = try raw.withUnsafeBytes { r in
            try EventDecoder.decodeRecord(r, clock: clock) { t in
                out.append(t)
                return out.count < limit
            }
        }
        return (out, finished)
    }

    @Test func decodesAFullBatchInOrder() throws {
        // A client's states, and more: 7 kept in storage (the most) and the last.
        let earlier: [(old: UInt8, new: UInt8, ts: UInt64)] = [
            (7, 2, 2_000), (2, 1, 3_000), (1, 4, 10_000), (4, 11, 10_500), (11, 1, 11_000), (1, 4, 12_000), (4, 5, 12_100),
        ]
        let raw = rawBatch(earlier: earlier, entered: 1_500) { e in
            e.ts_ns = 13_000
            e.ns_in_old = 900
            e.cookie = 9
            e.family = 2
            e.lport = 40000
            e.rport = 80
            e.oldstate = 5
            e.newstate = 7
            e.owner_pid = 42
            e.inode = 77
            e.rcv_queue = 1
            e.bytes_acked = 12
            e.flags = TCPTRACE_F_HAS_OLD_DURATION.rawValue | TCPTRACE_F_HAS_OWNER.rawValue | TCPTRACE_F_HAS_INODE.rawValue
                | TCPTRACE_F_HAS_RCV_QUEUE.rawValue | TCPTRACE_F_HAS_STATS.rawValue
            setBytes(&e.saddr, [127, 0, 0, 1])
            setBytes(&e.daddr, [127, 0, 0, 2])
            setBytes(&e.owner_comm, Array("curl".utf8))
        }
        #expect(raw.count == EventDecoder.batchSize)
        let (ts, finished) = try decodeAll(raw)
        #expect(finished)
        #expect(ts.count == 8)
        #expect(ts.map { "\($0.old.rawValue)>\($0.new.rawValue)" } == earlier.map { "\($0.old)>\($0.new)" } + ["5>7"])
        #expect(ts.map(\.nanosecondsInOld) == [500, 1_000, 7_000, 500, 500, 1_000, 100, 900])
        #expect(ts.map(\.time.nanoseconds) == (earlier.map(\.ts) + [13_000]).map { clock.wall($0).nanoseconds })
        for t in ts {
            #expect(t.identity == ts.last!.identity && t.identity.localPort == 40000)
            #expect(t.owner == Owner(pid: 42, comm: "curl") && t.inode == 77)
        }
        #expect(ts.dropLast().allSatisfy { $0.receiveQueue == nil && $0.counters == nil })
        #expect(ts.last!.receiveQueue == 1 && ts.last!.counters?.bytesAcked == 12)
    }

    @Test func batchWithoutKnownStartOrEarlierTransitions() throws {
        let unknownStart = rawBatch(earlier: [(10, 3, 5_000), (3, 1, 6_000)], entered: nil) { e in
            e.family = 2
            e.oldstate = 1
            e.newstate = 8
        }
        #expect(try decodeAll(unknownStart).transitions.map(\.nanosecondsInOld) == [nil, 1_000, nil])
        let alone = rawBatch(earlier: [], entered: nil) { e in
            e.family = 10
            e.oldstate = 7
            e.newstate = 10
        }
        #expect(try decodeAll(alone).transitions.map(\.new) == [.listen])
        // The consumer stops: nothing after the refused transition is delivered.
        let (some, finished) = try decodeAll(unknownStart, stopAfter: 2)
        #expect(!finished && some.count == 2)
    }

    @Test func recordKindsAreChecked() throws {
        let batch = rawBatch(earlier: [], entered: nil) { e in e.family = 2 }
        // A batch is not a transition event, and a record of an unknown kind is neither.
        #expect(throws: DecodeError.unknownKind(TCPTRACE_KIND_BATCH.rawValue)) {
            try batch.withUnsafeBytes { try EventDecoder.decode($0, clock: clock) }
        }
        #expect(throws: DecodeError.short(size: EventDecoder.eventSize)) { try decodeAll(Array(batch.prefix(EventDecoder.eventSize))) }
        let odd = rawEvent { e in
            e.family = 2
            e.kind = 7
        }
        #expect(throws: DecodeError.unknownKind(7)) { try decodeAll(odd) }
        let plain = rawEvent { e in e.family = 2 }
        #expect(try decodeAll(plain).transitions.count == 1)
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
        let path = tempPath("obj.o")
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
        let path = tempPath("status")
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
