import CLibbpf
import CTcptraceHost
import CTcptraceProgram
import Glibc
import TcptraceCore
import TcptraceHost

/// The loaded and attached kernel program, its ring buffer and its counters. Owns every libbpf
/// handle it creates and frees them in reverse order.
public final class Tracer {
    public struct Configuration: Sendable {
        public var filter = TraceFilter()
        /// Ring buffer size in bytes: a power of two, at least one page.
        public var ringBufferBytes: UInt64 = 8 << 20
        /// The kernel wakes user space only once this much is queued (0: on every event);
        /// the poll timeout bounds the latency in between.
        public var wakeupBytes: UInt64? = nil
        /// The consumer thread's scheduling while the ring is more than half full.
        public var catchUp: CatchUpScheduling = .nice
        /// Aggregated mode: the kernel keeps each socket's transitions and sends them as one
        /// record when the socket enters CLOSE, CLOSE_WAIT or LISTEN (bpf/tcptrace.h, struct
        /// tcptrace_batch). The handler still receives every transition, in order, but only
        /// once its batch is sent: for when transitions are not printed as they happen.
        public var aggregate = false
        /// Opener stacks (bpf/opener.bpf.h): the user stack at connect() and accept().
        public var captureStacks = false
        public var verbose = false
        /// Count the hits the kernel ran no program for with perf's counter on the tracepoint
        /// (`HitCounter`, `skippedHits()`); costs perf's probe on every hit.
        public var countSkips = SkipCounting.off
        /// Tests only: one transition of the sockets with this remote port that the program
        /// ignores as though the kernel had skipped it, to make a gap (`LostEvents.unseen`);
        /// `destroy`: their destruction too, as when the kernel skips a socket's end.
        public var testSkip: (remotePort: UInt16, old: TCPState, new: TCPState, destroy: Bool)? = nil
        public init() {}
    }

    /// Whether perf counts the tracepoint's hits, for the hits no program ran for.
    public enum SkipCounting: Sendable, Equatable {
        case off
        /// When perf's event opens (tracefs mounted, perf allowed); else the run goes on, saying
        /// why in `skipCountingUnavailable`.
        case ifAvailable
        /// Or the tracer does not start.
        case required
    }

    /// Receives each decoded transition; returns false to stop consuming (e.g. output closed).
    public typealias Handler = (consuming Transition) -> Bool
    /// Receives each batch of one socket's transitions (aggregated mode) whole, instead of
    /// `Handler` receiving them one by one.
    public typealias BatchHandler = (borrowing TransitionBatch) -> Bool

    private let object: OpaquePointer
    /// One per program, in ProgramInterface.Program order.
    private var links: [OpaquePointer] = []
    private var ring: RingReader?
    private let program: OpaquePointer
    /// Every program, in ProgramInterface.Program order.
    private let programs: [OpaquePointer]
    /// Their names, in the same order.
    private let programNames: [ProgramInterface.Program]
    private let countersFD: Int32
    let openersFD: Int32
    let stacksFD: Int32
    /// Why accept()'s opener stacks are not taken (its tracepoints did not attach), or nil.
    public private(set) var acceptStacksUnavailable: String?
    private let consumer: RingConsumer
    /// perf's count of TCP hits, and both counts when the programs were attached.
    private var hitCounter: HitCounter?
    private var hitBaseline: (perf: UInt64, seen: UInt64) = (0, 0)
    /// perf's count when the run stopped: the hits after it are no program's to see.
    private var hitsAtStop: UInt64?
    /// The programs' count compared with perf's: all TCP hits, or with port filters those that
    /// match them as perf's filter does (TCPTRACE_CTR_PROBED).
    private let probedCounter: tcptrace_counter
    /// Why the skipped hits are not counted though asked for if possible, or nil.
    public private(set) var skipCountingUnavailable: String?
    /// The iterator over the sockets' storage (`sum_held`), made while privileged, run once when
    /// the run stops; nil if the kernel refused it (`heldCountUnavailable` says why).
    private var heldIterator: OpaquePointer?
    public private(set) var heldCountUnavailable: String?
    /// Transitions the sockets' storage held that died with sockets whose end and destruction no
    /// program ran for: known once `stop()` has run.
    public private(set) var orphanedHeld: UInt64 = 0
    private let controlFD: Int32

    /// Opens, configures, loads and attaches the embedded program. Needs root.
    public init(
        configuration: Configuration, clock: MonotonicToWall, handler: @escaping Handler, batchHandler: BatchHandler? = nil
    ) throws(SystemError) {
        let object = try Self.loadedObject(configuration)
        let consumer = RingConsumer(
            clock: clock, handler: handler, batchHandler: batchHandler, catchUp: CatchUpPriority(configuration.catchUp))
        do throws(SystemError) {
            var programNames = ProgramInterface.Program.required
            var programs = try ProgramInterface.Program.required.map { p throws(SystemError) in try p.find(in: object) }
            let main = programs[ProgramInterface.Program.required.firstIndex(of: .main)!]
            let counters = try ProgramInterface.Map.counters.find(in: object)
            let events = try ProgramInterface.Map.events.find(in: object)
            let ring = try RingReader(mapFD: bpf_map__fd(events), bytes: UInt64(bpf_map__max_entries(events)))
            if configuration.catchUp != .off { consumer.positions = ring }
            // The main program first: the kernel runs a tracepoint's programs in attach order, and
            // the fallback tells the hits the main program was skipped for by what it left behind
            // for the same hit (bpf/tcptrace.bpf.c, "Exactly once"). Until the fallback is
            // attached, a skipped hit is counted as a recursion miss.
            var links: [OpaquePointer] = []
            var hitCounter: HitCounter? = nil
            if configuration.countSkips != .off {
                do throws(SystemError) {
                    hitCounter = try HitCounter(filter: HitCounter.filter(configuration.filter))
                } catch {
                    if configuration.countSkips == .required { throw error }
                    skipCountingUnavailable = error.description
                }
            }
            do throws(SystemError) {
                for program in programs { links.append(try Self.attach(program)) }
            } catch {
                for link in links.reversed() { bpf_link__destroy(link) }
                throw error
            }
            if configuration.captureStacks {
                let accept = Self.attachAcceptOpeners(object)
                programs += accept.programs.map(\.1)
                programNames += accept.programs.map(\.0)
                links += accept.links
                acceptStacksUnavailable = accept.unavailable
            }
            self.object = object
            self.program = main
            self.programs = programs
            self.programNames = programNames
            self.countersFD = bpf_map__fd(counters)
            self.controlFD = bpf_map__fd(try ProgramInterface.Map.control.find(in: object))
            self.probedCounter = configuration.filter.hasPortLists ? TCPTRACE_CTR_PROBED : TCPTRACE_CTR_SEEN
            do throws(SystemError) {
                self.heldIterator = try Self.attachHeldIterator(object)
            } catch {
                heldCountUnavailable = error.description
            }
            self.openersFD = bpf_map__fd(try ProgramInterface.Map.openers.find(in: object))
            self.stacksFD = bpf_map__fd(try ProgramInterface.Map.stacks.find(in: object))
            self.consumer = consumer
            self.ring = ring
            self.links = links
            if let hitCounter {
                // The programs' count first: a hit between the two reads is then in perf's
                // baseline only, so a later difference can only be short, never a false skip.
                let seen = Self.sum(counter: probedCounter, fd: bpf_map__fd(counters))
                self.hitBaseline = (hitCounter.total, seen)
                self.hitCounter = hitCounter
            }
        } catch {
            bpf_object__close(object)
            throw error
        }
    }

    /// The embedded object opened, configured and loaded (the verifier has passed every program).
    private static func loadedObject(_ configuration: Configuration) throws(SystemError) -> OpaquePointer {
        LibbpfLog.install(verbose: configuration.verbose)
        _ = LibbpfLog.take()
        let object = try EmbeddedObject.openObject(name: "tcptrace")
        do throws(SystemError) {
            try applySettings(configuration, to: object)
            let rc = bpf_object__load(object)
            if rc < 0 { throw loadError(-rc, variant: configuration.variantName) }
            return object
        } catch {
            bpf_object__close(object)
            throw error
        }
    }

    /// Loads the program these settings select, then unloads it: whether the kernel accepts that
    /// variant (`doctor`). Nothing is attached.
    public static func load(_ configuration: Configuration) throws(SystemError) {
        bpf_object__close(try loadedObject(configuration))
    }

    deinit {
        ring = nil
        detach()
        if let heldIterator { bpf_link__destroy(heldIterator) }
        bpf_object__close(object)
    }

    /// Waits up to `timeoutMilliseconds` for a wakeup, then drains everything queued (wakeups
    /// are batched, so data can be waiting without one). Returns the records handled; a signal
    /// interrupting the wait is not an error.
    @discardableResult
    public func poll(timeoutMilliseconds: Int32) throws(SystemError) -> Int {
        guard let ring else { return 0 }
        let before = consumer.handled
        // Before waiting too: the periodic work since the last poll may have left the ring full.
        consumer.adjustPriority()
        consumer.woken = true
        let rc = ring.wait(timeoutMilliseconds: timeoutMilliseconds)
        if rc < 0 && rc != -EINTR && !consumer.stopped { throw .call("poll(ring buffer)", errno: -rc) }
        if !consumer.stopped { try drain() }
        consumer.adjustPriority()
        return consumer.handled - before
    }

    /// Consumes every record queued now, without waiting.
    @discardableResult
    public func drain() throws(SystemError) -> Int {
        guard let ring, !consumer.stopped else { return 0 }
        let consumer = self.consumer
        return ring.consume { consumer.consume($0) }
    }

    /// Times the consumer's thread was raised because the ring was more than half full.
    public var priorityRaises: UInt64 { consumer.catchUp.raises }

    /// Records that arrived but did not decode.
    public var undecodable: UInt64 { consumer.undecodable }

    /// Ring records that crossed the end of the ring's data and were read from a copy.
    public var recordsCopied: UInt64 { ring?.copied ?? 0 }

    /// Ring records received (a batch is one record, however many transitions it holds).
    public var records: UInt64 { UInt64(consumer.handled) }

    /// Detaches from the tracepoint: no new events; what is queued can still be drained.
    /// The fallback goes first: alone, it would handle softirq hits the main program never saw
    /// and count them as caught misses.
    public func detach() {
        for link in links.reversed() { bpf_link__destroy(link) }
        links = []
    }

    /// Ends the run's tracing, counting what the kernel skipped to the last: perf's count taken,
    /// the kernel program told the run is stopping (a socket destroyed from now on may hold
    /// transitions legitimately), the tracepoint's programs detached (the fallback first, as in
    /// `detach`), the transitions the live sockets of `namespaces` (empty: this process's)
    /// hold summed by the iterator, and the destruction program detached last. What the
    /// counters say is held beyond that sum died with sockets whose end and destruction no
    /// program ran for (`orphanedHeld`).
    public func stop(namespaces: [NetworkNamespace] = []) {
        guard !links.isEmpty else { return }
        if let hitCounter { hitsAtStop = hitCounter.total }
        var key: UInt32 = 0, one: UInt32 = 1
        let told = bpf_map_update_elem(controlFD, &key, &one, UInt64(BPF_ANY)) == 0
        let destroy = programNames.firstIndex(of: .destroy)
        for (i, link) in links.enumerated().reversed() where i != destroy || !told { bpf_link__destroy(link) }
        if told, let live = liveHeld(namespaces.isEmpty ? [nil] : namespaces.map { $0.isOwn ? nil : $0.path }) {
            // The counters after the sum: a socket destroyed after the iterator saw it is then
            // out of both or of the counters only (a lower bound), never in the counters only.
            let k = kernelCounters()
            let held = k.heldIn > k.heldOut ? k.heldIn - k.heldOut : 0
            orphanedHeld = held > live ? held - live : 0
        }
        if told, let destroy { bpf_link__destroy(links[destroy]) }
        links = []
    }

    /// The transitions the live sockets' storage holds now in the namespaces at `paths` (nil:
    /// this process's): one byte per socket from `sum_held`. nil when a namespace could not be
    /// walked (`heldCountUnavailable` says why).
    private func liveHeld(_ paths: [String?]) -> UInt64? {
        guard let heldIterator else { return nil }
        var sum: UInt64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        for path in paths {
            let fd = tcptrace_iter_in_netns(path, bpf_link__fd(heldIterator))
            if fd == -ENOENT { continue }  // the namespace is gone, and its sockets with it
            guard fd >= 0 else {
                heldCountUnavailable = "iterating the sockets of network namespace \(path ?? "own"): \(String(cString: strerror(-fd)))"
                return nil
            }
            defer { close(fd) }
            var retries = 0
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n == 0 { break }
                if n < 0 {
                    if (errno == EINTR || errno == EAGAIN) && retries < 100 {
                        retries += 1
                        continue
                    }
                    heldCountUnavailable = "reading the socket iterator: \(String(cString: strerror(errno)))"
                    return nil
                }
                for i in 0..<n { sum &+= UInt64(buffer[i]) }
            }
        }
        return sum
    }

    /// The kernel program's counters, summed over CPUs.
    public func kernelCounters() -> KernelCounters {
        var k = KernelCounters()
        let cpus = Int(libbpf_num_possible_cpus())
        guard cpus > 0 else { return k }
        let fd = countersFD
        func read(_ index: tcptrace_counter) -> UInt64 { Self.sum(counter: index, fd: fd) }
        k.seen = read(TCPTRACE_CTR_SEEN)
        k.filtered = read(TCPTRACE_CTR_FILTERED)
        k.ringBufferFull = read(TCPTRACE_CTR_RINGBUF_FULL)
        k.noStorage = read(TCPTRACE_CTR_NO_STORAGE)
        k.nested = read(TCPTRACE_CTR_NESTED)
        k.unseen = read(TCPTRACE_CTR_UNSEEN)
        k.unseenHeld = read(TCPTRACE_CTR_UNSEEN_HELD)
        k.heldIn = read(TCPTRACE_CTR_HELD_IN)
        k.heldOut = read(TCPTRACE_CTR_HELD_OUT)
        k.skipsCounted = hitCounter != nil
        return k
    }

    /// Transitions the kernel ran no program for, by what is known (`k`: the counters now):
    /// the gaps found (in the kernel, plus `vanished`: connections user space found gone with no
    /// loss counted) or perf's count of the hits no program ran for, whichever is more (both are
    /// lower bounds of the same hits); plus the transitions held by the sockets skipped to their
    /// end, lost with them (found at a destruction, or by the iterator once `stop()` has run).
    public func unseenTransitions(_ k: KernelCounters, vanished: UInt64 = 0) -> UInt64 {
        max(k.unseen + vanished, skippedHits() ?? 0) + k.unseenHeld + orphanedHeld
    }

    /// Tracepoint hits lost because the program was already running on that CPU: the kernel's
    /// count for the main program, less the hits the fallback program handled instead.
    /// With `countSkips`: the TCP hits since the programs attached that perf counted and no
    /// program ran for (recursion misses apart); a lower bound (see `init`). nil otherwise.
    public func skippedHits() -> UInt64? {
        guard let hitCounter else { return nil }
        let perf = (hitsAtStop ?? hitCounter.total) &- hitBaseline.perf  // perf's first, for the same reason
        let seen = Self.sum(counter: probedCounter, fd: countersFD) &- hitBaseline.seen
        let accounted = seen &+ recursionMisses()
        return perf > accounted ? perf - accounted : 0
    }

    /// One counter summed over CPUs and over the programs' rows (enum tcptrace_counter_row).
    private static func sum(counter: tcptrace_counter, fd: Int32) -> UInt64 {
        var values = [UInt64](repeating: 0, count: max(1, Int(libbpf_num_possible_cpus())))
        var total: UInt64 = 0
        for row in 0..<TCPTRACE_ROWS.rawValue {
            var key = row * UInt32(TCPTRACE_CTR_MAX.rawValue) + counter.rawValue
            guard bpf_map_lookup_elem(fd, &key, &values) == 0 else { return 0 }
            total = values.reduce(total, &+)
        }
        return total
    }

    public func recursionMisses() -> UInt64 {
        let skipped = programInfo()?.recursion_misses ?? 0
        let caught = kernelCounters().nested
        return skipped > caught ? skipped - caught : 0
    }

    /// Whether the counters and the program's info can be read now (before Linux 6.5, with
    /// kernel.unprivileged_bpf_disabled set, every bpf() call takes CAP_BPF, even on an open fd).
    public func countersReadable() -> Bool {
        var key = TCPTRACE_CTR_SEEN.rawValue
        var values = [UInt64](repeating: 0, count: max(1, Int(libbpf_num_possible_cpus())))
        var zero: UInt32 = 0, control: UInt32 = 0
        return bpf_map_lookup_elem(countersFD, &key, &values) == 0 && programInfo() != nil
            && bpf_map_lookup_elem(controlFD, &zero, &control) == 0
    }

    /// Run time and count of each program (bpf_prog_info); zero unless kernel.bpf_stats_enabled=1.
    public func programRunStats() -> [ProgramRunStats] {
        zip(programNames, programs).compactMap { name, p in
            programInfo(p).map { ProgramRunStats(program: name.rawValue, runNanoseconds: $0.run_time_ns, runs: $0.run_cnt) }
        }
    }

    private func programInfo(_ p: OpaquePointer? = nil) -> bpf_prog_info? {
        var info = bpf_prog_info()
        var len = UInt32(MemoryLayout<bpf_prog_info>.size)
        guard bpf_obj_get_info_by_fd(bpf_program__fd(p ?? program), &info, &len) == 0 else { return nil }
        return info
    }
}
