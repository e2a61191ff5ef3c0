import Foundation
import Glibc
import Testing
import TcptraceKernel
import TcptraceHost
import TcptraceCore

/// sched_setaffinity(2): glibc declares it only under _GNU_SOURCE, which Swift's Glibc lacks.
private let setAffinity = unsafeBitCast(
    dlsym(nil, "sched_setaffinity"), to: (@convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32).self)

/// Pins the calling thread to one CPU.
func pinToCPU(_ cpu: Int) {
    var set = cpu_set_t()
    withUnsafeMutableBytes(of: &set) { $0[cpu / 8] |= UInt8(1 << (cpu % 8)) }
    let rc = withUnsafeBytes(of: &set) { setAffinity(0, $0.count, $0.baseAddress!) }
    precondition(rc == 0, "sched_setaffinity(\(cpu)): \(String(cString: strerror(errno)))")
}

/// A loopback connection storm on 127.0.0.1 from threads pinned to every CPU. Each server
/// thread accepts and closes first; each client connects, reads to EOF and closes `hold` later.
/// Every connection makes 10 transitions. The server closing first leaves TIME_WAIT on its side,
/// so the clients' ephemeral ports are free again at once.
final class LoopbackStorm: @unchecked Sendable {
    let listener: Int32
    let port: UInt16
    let hold: Double
    private let lock = NSLock()
    private var accepted = 0
    private var connected = 0
    private var refused = 0
    private let clientsDone = DispatchGroup()
    private let serversDone = DispatchGroup()

    init(listener: Int32, port: UInt16, hold: Double) {
        self.listener = listener
        self.port = port
        self.hold = hold
    }

    private func add(accepted a: Int = 0, connected c: Int = 0, refused r: Int = 0) {
        lock.lock()
        accepted += a
        connected += c
        refused += r
        lock.unlock()
    }

    var counts: (accepted: Int, connected: Int, refused: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (accepted, connected, refused)
    }

    /// Runs `threadsPerCPU` clients and as many servers on each CPU until `done` says so (asked
    /// every 16 connections per client), `seconds` have passed or `maxConnections` were made;
    /// then every connection made is accepted and closed, and the listener shut down. Returns
    /// the connections made and those refused.
    func run(seconds: Double, maxConnections: Int, threadsPerCPU: Int, until done: @escaping @Sendable () -> Bool) -> (connected: Int, refused: Int) {
        let cpus = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let deadline = Date().addingTimeInterval(seconds)
        let share = maxConnections / (cpus * threadsPerCPU)
        for t in 0..<(cpus * threadsPerCPU) {
            let cpu = t % cpus
            serversDone.enter()
            Thread.detachNewThread { [self] in
                pinToCPU(cpu)
                while true {
                    let c: Int32
                    do {
                        c = try Loopback.accept(listener)
                    } catch let e as SocketError {
                        if e.errno == EINTR || e.errno == ECONNABORTED { continue }
                        break  // the listener was shut down
                    } catch { break }
                    close(c)
                    add(accepted: 1)
                }
                serversDone.leave()
            }
            clientsDone.enter()
            Thread.detachNewThread { [self] in
                pinToCPU(cpu)
                var held: [(fd: Int32, since: Date)] = []
                for n in 0..<share {
                    if n % 16 == 0 && (Date() >= deadline || done()) { break }
                    guard let c = try? Loopback.connect(.v4, port: port) else {
                        add(refused: 1)
                        continue
                    }
                    _ = Loopback.readToEOF(c)
                    add(connected: 1)
                    let now = Date()
                    held.append((c, now))
                    while let first = held.first, now.timeIntervalSince(first.since) >= hold {
                        close(first.fd)
                        held.removeFirst()
                    }
                }
                for h in held { close(h.fd) }
                clientsDone.leave()
            }
        }
        clientsDone.wait()
        // Every connection made is accepted before the listener goes (else its child is reset).
        eventually(seconds: 10, every: 0.001) { counts.accepted >= counts.connected }
        shutdown(listener, Int32(SHUT_RDWR))
        serversDone.wait()
        let c = counts
        return (c.connected, c.refused)
    }
}

/// The fallback program forced to work: softirq that interrupts the main program on the same
/// CPU, so that the kernel skips the main program for those hits (bpf/tcptrace.bpf.c, "Exactly
/// once").
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct NestedTests {
    /// Checks each transition as it arrives, keeping per-socket state only.
    final class Checker {
        var delivered = 0
        var identities = Set<UInt64>()
        var duplicates: [String] = []
        var last: [UInt64: (new: TCPState, time: Int64, count: Int, path: String)] = [:]
        var outOfOrder: [String] = []
        /// Transitions whose old state is not the new state of the socket's previous one.
        var breaks = 0

        func check(_ t: borrowing Transition) {
            delivered += 1
            let id = t.identity.cookie << 8 | UInt64(t.old.rawValue & 0xf) << 4 | UInt64(t.new.rawValue & 0xf)
            if !identities.insert(id).inserted, duplicates.count < 10 {
                duplicates.append("\(t.identity.cookie) \(t.old.name)->\(t.new.name)")
            }
            let time = t.time.nanoseconds
            var count = 1
            var path = "\(t.old.name)->\(t.new.name)"
            if let p = last[t.identity.cookie] {
                if time < p.time, outOfOrder.count < 10 { outOfOrder.append("\(t.identity.cookie) \(t.old.name)->\(t.new.name)") }
                if p.new != t.old { breaks += 1 }
                count = p.count + 1
                path = p.path + (p.new == t.old ? "->\(t.new.name)" : " | \(t.old.name)->\(t.new.name)")
            }
            last[t.identity.cookie] = (t.new, time, count, path)
        }

        /// Sockets with fewer than the 5 transitions of either side of a connection (the
        /// listener excepted): where transitions are missing.
        var incomplete: [String] {
            last.values.filter { $0.count < 5 && !$0.path.hasPrefix("CLOSE->LISTEN") }.prefix(10).map(\.path)
        }
    }

    /// Storms until the fallback has caught `enough` hits (after a second at least) or for 8 s
    /// at most. Hits caught in 2 s on a 2-CPU VM, 8 clients and 8 servers per CPU: ~500; ~1,000
    /// with a wakeup on every event (wakeupBytes 0: an irq_work interrupt inside the program);
    /// 1,200-2,600 with clients holding their CLOSE_WAIT sockets 60 ms (their delayed ACKs go out
    /// from timer softirq); 4,500-5,500 with both, as here. 16 KiB of data per connection made it
    /// 0; so did 1 client and 1 server per CPU in some runs of 3 s. Both with an event per
    /// transition and aggregated (batches per socket, kept in socket storage by whichever
    /// program handles each hit).
    @Test(arguments: [false, true]) func stormOnEveryCPUIsHandledExactlyOnce(aggregate: Bool) throws {
        try KernelGate.check()
        let enough: UInt64 = 1_000
        let (listener, port) = try Loopback.bound(.v4)
        var c = Tracer.Configuration()
        c.filter.ports = [port]
        c.ringBufferBytes = 32 << 20
        c.wakeupBytes = 0
        c.aggregate = aggregate
        let checker = Checker()
        let tracer = try Tracer(configuration: c, clock: SystemClock.monotonicToWall()) { t in
            checker.check(t)
            return true
        }
        try Loopback.listen(listener)
        let storm = LoopbackStorm(listener: listener, port: port, hold: 0.06)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result = (connected: 0, refused: 0)
        nonisolated(unsafe) let counters = tracer  // read only: the per-CPU counters, by fd
        let start = Date()
        Thread.detachNewThread {
            result = storm.run(seconds: 8, maxConnections: 200_000, threadsPerCPU: 8) {
                Date().timeIntervalSince(start) >= 1 && counters.kernelCounters().nested >= enough
            }
            done.signal()
        }
        // The consumer drains while the storm runs (a poll returns only once the ring is empty).
        while done.wait(timeout: .now()) == .timedOut { try tracer.poll(timeoutMilliseconds: 10) }
        let elapsed = Date().timeIntervalSince(start)
        close(listener)
        let expected = 10 * result.connected + 2 * result.refused + 2  // the listener's 2
        // The last ACKs; then no more hits, so that the counters hold still while read.
        let settle = Date().addingTimeInterval(1)
        repeat {
            try tracer.poll(timeoutMilliseconds: 10)
        } while UInt64(checker.delivered) + tracer.kernelCounters().ringBufferFull < expected && Date() < settle
        usleep(50_000)
        tracer.detach()
        usleep(50_000)
        try tracer.drain()
        let k = tracer.kernelCounters()
        let misses = tracer.recursionMisses()
        let summary =
            "aggregate \(aggregate): \(result.connected) connections (\(result.refused) refused) in \(String(format: "%.1f", elapsed)) s; expected \(expected),"
            + " delivered \(checker.delivered); kernel \(k); recursion misses \(misses); incomplete sockets \(checker.incomplete)"
        print("storm: \(summary)")

        #expect(k.nested > 0, "the fallback caught no hit: \(summary)")
        #expect(checker.duplicates.isEmpty, "delivered twice: \(checker.duplicates)")
        #expect(checker.outOfOrder.isEmpty, "time went back: \(checker.outOfOrder)")
        // User space loses nothing: every event the program kept was delivered. Aggregated, a
        // socket whose CLOSE hit the kernel skipped uncounted (below) never sends its batch:
        // up to 4 transitions each stay in its storage.
        let kept = k.seen - k.filtered - k.ringBufferFull
        #expect(tracer.undecodable == 0)
        // The kernel side: nothing extra, and nothing missing beyond what is counted, but the
        // rare hit for which the kernel calls neither program (0.03% at most measured,
        // docs/benchmarks.md "Branch `loss`"; 1% allowed, as in BinaryTests). Were the
        // fallback's catches lost, the loss would be about as large as `nested`.
        #expect(checker.delivered <= expected, "\(summary)")
        #expect(checker.breaks <= expected - checker.delivered, "a break in a socket's states is a lost transition: \(checker.breaks), \(summary)")
        let accounted = UInt64(checker.delivered) + k.ringBufferFull + misses
        let uncounted = UInt64(expected) > accounted ? UInt64(expected) - accounted : 0
        #expect(uncounted <= UInt64(expected / 100) && uncounted < k.nested, "lost beyond what is counted: \(summary)")
        if aggregate {
            #expect(UInt64(checker.delivered) <= kept && kept - UInt64(checker.delivered) <= uncounted, "\(summary)")
        } else {
            #expect(UInt64(checker.delivered) == kept, "\(summary)")
        }
    }
}
