import Glibc
import Testing
import TcptraceCore
import TcptraceHost
import TcptraceKernel

/// The consumer's thread runs at nice -10 while the ring is more than half full, and at its own
/// nice again once it has drained.
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct CatchUpTests {
    /// 30 connections (300 events of 168 bytes, ~50 KB) queued in a 64 KB ring before the first
    /// poll: past half full, below full.
    func fillThenDrain(_ scheduling: CatchUpScheduling, port: UInt16) throws -> (during: [Int32], after: Int32, raises: UInt64) {
        try KernelGate.check()
        var c = Tracer.Configuration()
        c.filter.ports = [port]
        c.ringBufferBytes = 64 << 10
        c.catchUp = scheduling
        var during: [Int32] = []
        let tracer = try Tracer(configuration: c, clock: SystemClock.monotonicToWall()) { _ in
            during.append(CatchUpPriority.currentNice)
            return true
        }
        let listener = try Loopback.listening(.v4, port: port)
        let served = Loopback.serve(listener, count: 30)
        for _ in 0..<30 { close(try Loopback.connect(.v4, port: port)) }
        served.wait()
        close(listener)
        usleep(100_000)  // the last softirq transitions
        try tracer.poll(timeoutMilliseconds: 0)
        try tracer.drain()
        #expect(during.count >= 250, "past half the ring: \(during.count) events")
        #expect(tracer.kernelCounters().ringBufferFull == 0)
        return (during, CatchUpPriority.currentNice, tracer.priorityRaises)
    }

    @Test func raisedWhileBehindThenRestored() throws {
        let own = CatchUpPriority.currentNice
        let r = try fillThenDrain(.nice, port: 31401)
        #expect(r.raises == 1)
        #expect(r.during.first == CatchUpPriority.raisedNice, "raised before the first record was handled")
        #expect(r.after == own, "back to the thread's own nice once drained")
    }

    @Test func offLeavesTheThreadAlone() throws {
        let own = CatchUpPriority.currentNice
        let r = try fillThenDrain(.off, port: 31402)
        #expect(r.raises == 0)
        #expect(r.during.allSatisfy { $0 == own } && r.after == own)
    }
}
