import Glibc
import Testing
import TcptraceCore
import TcptraceHost
import TcptraceKernel

/// The ring buffer is read with its data mapped once (`RingReader`): a record that crosses the
/// end of the data is copied whole. A 64 KB ring turned over ~20 times must deliver every
/// transition intact, in each socket's order.
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct RingReaderTests {
    @Test func recordsCrossingTheEndArriveWhole() throws {
        try KernelGate.check()
        let port: UInt16 = 31403
        var c = Tracer.Configuration()
        c.filter.ports = [port]
        c.ringBufferBytes = 64 << 10
        var received: [Transition] = []
        let tracer = try Tracer(configuration: c, clock: SystemClock.monotonicToWall()) { t in
            received.append(t)
            return true
        }
        let listener = try Loopback.listening(.v4, port: port)
        let rounds = 25, perRound = 30  // 300 records of 168 bytes a round: ~50 KB, below full
        for _ in 0..<rounds {
            let served = Loopback.serve(listener, count: perRound)
            for _ in 0..<perRound { close(try Loopback.connect(.v4, port: port)) }
            served.wait()
            usleep(50_000)  // the last softirq transitions
            try tracer.poll(timeoutMilliseconds: 0)
            try tracer.drain()
        }
        close(listener)
        // 10 transitions a connection, both ends; the listener's own two as well. The last
        // softirq transitions may come late on a busy machine: wait for them (bounded).
        let expected = rounds * perRound * 10
        let deadline = SystemClock.monotonicNanoseconds() + 10_000_000_000
        repeat {
            usleep(50_000)
            try tracer.drain()
        } while received.count < expected + 2 && SystemClock.monotonicNanoseconds() < deadline
        let k = tracer.kernelCounters()
        #expect(k.ringBufferFull == 0 && tracer.undecodable == 0)
        #expect(tracer.records == UInt64(received.count))
        // What the kernel skipped (its programs already running on that CPU) is counted, not lost.
        let skipped = Int(k.unseen + k.unseenHeld + tracer.recursionMisses())
        #expect(received.count + skipped >= expected, "\(received.count) transitions, \(skipped) skipped")
        #expect(tracer.recordsCopied >= 10, "records crossing the end: \(tracer.recordsCopied)")
        // Every record whole: our port on one end, and each socket's states chaining (unless
        // the kernel skipped some of its transitions: `afterGap`).
        var last: [UInt64: TCPState] = [:]
        var broken = 0
        for t in received {
            if t.identity.localPort != port && t.identity.remotePort != port { broken += 1 }
            if let previous = last[t.identity.cookie], previous != t.old, !t.afterGap { broken += 1 }
            last[t.identity.cookie] = t.new
        }
        #expect(broken == 0, "\(broken) transitions out of place or not ours")
        if skipped == 0 {
            #expect(last.values.allSatisfy { $0 == .close || $0 == .timeWait }, "every socket ended")
        }
    }
}
