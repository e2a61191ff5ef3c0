import CLibbpf
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
        public var verbose = false
        public init() {}
    }

    /// Receives each decoded transition; returns false to stop consuming (e.g. output closed).
    public typealias Handler = (consuming Transition) -> Bool
    /// Receives each batch of one socket's transitions (aggregated mode) whole, instead of
    /// `Handler` receiving them one by one.
    public typealias BatchHandler = (borrowing TransitionBatch) -> Bool

    private let object: OpaquePointer
    /// One per program, in ProgramInterface.Program order.
    private var links: [OpaquePointer] = []
    private var ring: OpaquePointer?
    private let program: OpaquePointer
    /// Every program, in ProgramInterface.Program order.
    private let programs: [OpaquePointer]
    private let countersFD: Int32
    private let consumer: Consumer

    /// Opens, configures, loads and attaches the embedded program. Needs root.
    public init(
        configuration: Configuration, clock: MonotonicToWall, handler: @escaping Handler, batchHandler: BatchHandler? = nil
    ) throws(SystemError) {
        Self.setLibbpfLogging(verbose: configuration.verbose)
        let object = try EmbeddedObject.openObject(name: "tcptrace")
        let consumer = Consumer(
            clock: clock, handler: handler, batchHandler: batchHandler, catchUp: CatchUpPriority(configuration.catchUp))
        var ring: OpaquePointer? = nil
        do throws(SystemError) {
            try Self.applySettings(configuration, to: object)
            let rc = bpf_object__load(object)
            if rc < 0 { throw Self.loadError(-rc) }
            let programs = try ProgramInterface.Program.allCases.map { p throws(SystemError) in try p.find(in: object) }
            let main = programs[ProgramInterface.Program.allCases.firstIndex(of: .main)!]
            let counters = try ProgramInterface.Map.counters.find(in: object)
            let events = try ProgramInterface.Map.events.find(in: object)
            ring = try check(
                "ring_buffer__new",
                ring_buffer__new(bpf_map__fd(events), Self.onSample, Unmanaged.passUnretained(consumer).toOpaque(), nil))
            if configuration.catchUp != .off {
                consumer.positions = try RingPositions(mapFD: bpf_map__fd(events), bytes: configuration.ringBufferBytes)
            }
            // The main program first: the kernel runs a tracepoint's programs in attach order, and
            // the fallback tells the hits the main program was skipped for by what it left behind
            // for the same hit (bpf/tcptrace.bpf.c, "Exactly once"). Until the fallback is
            // attached, a skipped hit is counted as a recursion miss.
            var links: [OpaquePointer] = []
            do throws(SystemError) {
                for program in programs { links.append(try Self.attach(program)) }
            } catch {
                for link in links.reversed() { bpf_link__destroy(link) }
                throw error
            }
            self.object = object
            self.program = main
            self.programs = programs
            self.countersFD = bpf_map__fd(counters)
            self.consumer = consumer
            self.ring = ring
            self.links = links
        } catch {
            if let ring { ring_buffer__free(ring) }
            bpf_object__close(object)
            throw error
        }
    }

    deinit {
        if let ring { ring_buffer__free(ring) }
        detach()
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
        let rc = ring_buffer__poll(ring, timeoutMilliseconds)
        if rc < 0 && rc != -EINTR && !consumer.stopped { throw .call("ring_buffer__poll", errno: -rc) }
        if !consumer.stopped { try drain() }
        consumer.adjustPriority()
        return consumer.handled - before
    }

    /// Consumes every record queued now, without waiting.
    @discardableResult
    public func drain() throws(SystemError) -> Int {
        guard let ring, !consumer.stopped else { return 0 }
        let before = consumer.handled
        let rc = ring_buffer__consume(ring)
        if rc < 0 && !consumer.stopped { throw .call("ring_buffer__consume", errno: -rc) }
        return consumer.handled - before
    }

    /// Times the consumer's thread was raised because the ring was more than half full.
    public var priorityRaises: UInt64 { consumer.catchUp.raises }

    /// Records that arrived but did not decode.
    public var undecodable: UInt64 { consumer.undecodable }

    /// Ring records received (a batch is one record, however many transitions it holds).
    public var records: UInt64 { UInt64(consumer.handled) }

    /// Detaches from the tracepoint: no new events; what is queued can still be drained.
    /// The fallback goes first: alone, it would handle softirq hits the main program never saw
    /// and count them as caught misses.
    public func detach() {
        for link in links.reversed() { bpf_link__destroy(link) }
        links = []
    }

    /// The kernel program's counters, summed over CPUs.
    public func kernelCounters() -> KernelCounters {
        var k = KernelCounters()
        let cpus = Int(libbpf_num_possible_cpus())
        guard cpus > 0 else { return k }
        var values = [UInt64](repeating: 0, count: cpus)
        func read(_ index: tcptrace_counter) -> UInt64 {
            var key = index.rawValue
            guard bpf_map_lookup_elem(countersFD, &key, &values) == 0 else { return 0 }
            return values.reduce(0, &+)
        }
        k.seen = read(TCPTRACE_CTR_SEEN)
        k.filtered = read(TCPTRACE_CTR_FILTERED)
        k.ringBufferFull = read(TCPTRACE_CTR_RINGBUF_FULL)
        k.noStorage = read(TCPTRACE_CTR_NO_STORAGE)
        k.nested = read(TCPTRACE_CTR_NESTED)
        return k
    }

    /// Tracepoint hits lost because the program was already running on that CPU: the kernel's
    /// count for the main program, less the hits the fallback program handled instead.
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
        return bpf_map_lookup_elem(countersFD, &key, &values) == 0 && programInfo() != nil
    }

    /// Run time and count of each program (bpf_prog_info); zero unless kernel.bpf_stats_enabled=1.
    public func programRunStats() -> [ProgramRunStats] {
        zip(ProgramInterface.Program.allCases, programs).compactMap { name, p in
            programInfo(p).map { ProgramRunStats(program: name.rawValue, runNanoseconds: $0.run_time_ns, runs: $0.run_cnt) }
        }
    }

    private func programInfo(_ p: OpaquePointer? = nil) -> bpf_prog_info? {
        var info = bpf_prog_info()
        var len = UInt32(MemoryLayout<bpf_prog_info>.size)
        guard bpf_obj_get_info_by_fd(bpf_program__fd(p ?? program), &info, &len) == 0 else { return nil }
        return info
    }

    // MARK: - Setup

    /// Sizes the ring and writes the settings into .rodata: the object is opened, not loaded
    /// (no privileges needed).
    static func applySettings(_ c: Configuration, to object: OpaquePointer) throws(SystemError) {
        let events = try ProgramInterface.Map.events.find(in: object)
        try check("bpf_map__set_max_entries(events)", bpf_map__set_max_entries(events, UInt32(c.ringBufferBytes)))
        var rodata = try ReadOnlyData(object: object)
        let f = c.filter
        try rodata.set(\.filterFamily, f.family == .ipv4 ? 4 : f.family == .ipv6 ? 6 : 0)
        try rodata.set(\.filterOwnerPID, f.ownerPID ?? 0)
        if let comm = f.ownerComm {
            try rodata.set(\.filterCommSet, 1)
            try rodata.set(\.filterComm, Array(comm.utf8.prefix(Int(TCPTRACE_COMM_LEN) - 1)))
        }
        let portLists: [(KeyPath<ProgramInterface.Globals, ProgramInterface.GlobalArray<UInt16>>, KeyPath<ProgramInterface.Globals, ProgramInterface.Global<UInt32>>, [UInt16])] = [
            (\.ports, \.portCount, f.ports), (\.localPorts, \.localPortCount, f.localPorts), (\.remotePorts, \.remotePortCount, f.remotePorts),
        ]
        for (list, count, ports) in portLists {
            try rodata.set(count, UInt32(ports.count))
            try rodata.set(list, ports)
        }
        // 0 means "any" to the program: no namespace or cgroup has it, so it is refused, not widened.
        if f.netns == 0 { throw .call("filtering on network namespace 0", errno: EINVAL) }
        if f.cgroupSubtree?.id == 0 { throw .call("filtering on cgroup 0", errno: EINVAL) }
        try rodata.set(\.filterNetns, f.netns ?? 0)
        try rodata.set(\.filterCgroupID, f.cgroupSubtree?.id ?? 0)
        try rodata.set(\.filterCgroupLevel, f.cgroupSubtree?.level ?? 0)
        try rodata.set(\.wakeupBytes, c.wakeupBytes ?? c.ringBufferBytes / 4)
        try rodata.set(\.taskStackBytes, taskStackBytes())
        try rodata.set(\.aggregate, c.aggregate ? 1 : 0)
        try rodata.commit()
    }

    /// THREAD_SIZE: 16 KiB on x86-64 and arm64, or a page if larger; KASAN doubles it on both.
    /// A KASAN kernel is told by `kasan_check_range` among the names in its BTF.
    static func taskStackBytes(btfPath: String = "/sys/kernel/btf/vmlinux") -> UInt64 {
        let base = UInt64(max(16384, sysconf(Int32(_SC_PAGESIZE))))
        return kernelNames(btfPath, contain: "kasan_check_range") ? base * 2 : base
    }

    /// Whether `name` is one of the NUL-terminated strings in the file (BTF's string section).
    static func kernelNames(_ path: String, contain name: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return false }
        defer { close(fd) }
        let needle = [0] + Array(name.utf8) + [0]
        var window: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            // Keep the tail of the previous chunk so a match across the boundary is found.
            window = Array(window.suffix(needle.count - 1)) + chunk[..<n]
            if contains(window, needle) { return true }
        }
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return false }
        return haystack.withUnsafeBufferPointer { h in
            var i = 0
            while i <= h.count - needle.count {
                if h[i] == first && h[i + 1] == needle[1] && h[i..<(i + needle.count)].elementsEqual(needle) { return true }
                i += 1
            }
            return false
        }
    }

    private static func attach(_ program: OpaquePointer) throws(SystemError) -> OpaquePointer {
        guard let link = bpf_program__attach(program) else {
            let e = errno
            throw e == EPERM || e == EACCES
                ? SystemError.notPermitted(
                    "attaching to tracepoint sock:inet_sock_set_state was refused: \(String(cString: strerror(e)))")
                : SystemError.kernelUnsupported(
                    "cannot attach tp_btf/inet_sock_set_state: \(String(cString: strerror(e))) (needs Linux >= 5.12 with BTF)")
        }
        return link
    }

    private static func loadError(_ e: Int32) -> SystemError {
        let reason = String(cString: strerror(e))
        if e == EPERM || e == EACCES {
            return .notPermitted("the kernel refused to load the BPF program (\(reason)): run as root or with CAP_BPF and CAP_PERFMON")
        }
        return .kernelUnsupported(
            "the kernel rejected the BPF program (\(reason)): tcptrace-bpf needs Linux >= 5.12 with BTF, tp_btf, sk_storage and ring buffers; --verbose shows libbpf's log")
    }

    private static func setLibbpfLogging(verbose: Bool) {
        if verbose {
            libbpf_set_print { _, format, args in
                guard let format else { return 0 }
                return vdprintf(2, format, args!)
            }
        } else {
            libbpf_set_print { _, _, _ in 0 }
        }
    }

    private static let onSample: ring_buffer_sample_fn = { ctx, data, size in
        // The tracer owns the consumer for as long as the ring exists: borrowed, not retained
        // and released around every record.
        Unmanaged<Consumer>.fromOpaque(ctx!)._withUnsafeGuaranteedRef {
            $0.consume(UnsafeRawBufferPointer(start: data, count: size))
        }
    }
}

/// The ring buffer callback's context: decodes and hands records on, and raises its thread's
/// priority while the ring is more than half full (checked before and after each poll and every
/// `checkEvery` records, so a thread that gets the CPU back after a long wait is raised within
/// ~1 ms of work).
private final class Consumer {
    let clock: MonotonicToWall
    let handler: Tracer.Handler
    let batchHandler: Tracer.BatchHandler?
    var handled = 0
    var undecodable: UInt64 = 0
    var stopped = false
    var catchUp: CatchUpPriority
    /// nil when the priority is never changed.
    var positions: RingPositions?
    static let checkEvery = 1024

    init(clock: MonotonicToWall, handler: @escaping Tracer.Handler, batchHandler: Tracer.BatchHandler?, catchUp: CatchUpPriority) {
        self.clock = clock
        self.handler = handler
        self.batchHandler = batchHandler
        self.catchUp = catchUp
    }

    /// Raised above half full, restored below an eighth: the gap keeps a consumer that hovers
    /// around one mark from switching on every check.
    func adjustPriority() {
        guard let positions else { return }
        let queued = positions.queuedBytes
        if queued >= positions.bytes / 2 {
            catchUp.raise()
        } else if queued <= positions.bytes / 8 {
            catchUp.restore()
        }
    }

    @inline(__always)
    func consume(_ raw: UnsafeRawBufferPointer) -> Int32 {
        handled += 1
        if handled % Self.checkEvery == 0 { adjustPriority() }
        do {
            let more: Bool
            if let batchHandler, try EventDecoder.isBatch(raw) {
                more = batchHandler(try EventDecoder.decodeBatch(raw, clock: clock))
            } else {
                more = try EventDecoder.decodeRecord(raw, clock: clock, deliver: handler)
            }
            if !more {
                stopped = true
                return -1
            }
        } catch {
            undecodable += 1
        }
        return 0
    }
}

/// How much the ring holds now: its producer and consumer positions, read from the map's first
/// two pages mapped read-only a second time (libbpf 1.1 has no `ring__avail_data_size`). Plain
/// aligned word loads: an approximate fill is all the priority check needs.
final class RingPositions {
    let bytes: UInt64
    private let consumerPage: UnsafeMutableRawPointer
    private let producerPage: UnsafeMutableRawPointer
    private let pageSize: Int

    init(mapFD: Int32, bytes: UInt64) throws(SystemError) {
        self.bytes = bytes
        pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let c = mmap(nil, pageSize, PROT_READ, MAP_SHARED, mapFD, 0), c != MAP_FAILED else {
            throw .call("mmap(ring buffer consumer position)", errno: errno)
        }
        guard let p = mmap(nil, pageSize, PROT_READ, MAP_SHARED, mapFD, off_t(pageSize)), p != MAP_FAILED else {
            let e = errno
            munmap(c, pageSize)
            throw .call("mmap(ring buffer producer position)", errno: e)
        }
        consumerPage = c
        producerPage = p
    }

    deinit {
        munmap(consumerPage, pageSize)
        munmap(producerPage, pageSize)
    }

    var queuedBytes: UInt64 {
        let consumed = consumerPage.load(as: UInt64.self)
        let produced = producerPage.load(as: UInt64.self)
        return produced > consumed ? produced - consumed : 0
    }
}

/// The object's .rodata (its `const volatile` settings), written before load through the
/// typed declaration in ProgramInterface, at the offsets in the object's BTF.
struct ReadOnlyData {
    typealias Globals = ProgramInterface.Globals
    let map: OpaquePointer
    var bytes: [UInt8]
    let globals: [String: ObjectGlobal]

    init(object: OpaquePointer) throws(SystemError) {
        map = try ProgramInterface.Map.readOnlyData.find(in: object)
        var size = 0
        let initial = try check("bpf_map__initial_value(.rodata)", bpf_map__initial_value(map, &size))
        bytes = Array(UnsafeRawBufferPointer(start: initial, count: size))
        globals = try ProgramInterface.readOnlyGlobals(of: object)
    }

    mutating func set<T: FixedWidthInteger>(_ global: KeyPath<Globals, ProgramInterface.Global<T>>, _ value: T) throws(SystemError) {
        let g = ProgramInterface.globals[keyPath: global]
        try write(g.name, g.layout, withUnsafeBytes(of: value) { Array($0) })
    }

    /// The first `values.count` elements; the rest are zeroed.
    mutating func set<T: FixedWidthInteger>(_ global: KeyPath<Globals, ProgramInterface.GlobalArray<T>>, _ values: [T]) throws(SystemError) {
        let g = ProgramInterface.globals[keyPath: global]
        guard values.count <= g.count else { throw .call("setting \(g.name) in .rodata (\(values.count) > \(g.count) elements)", errno: EINVAL) }
        try write(g.name, g.layout, values.flatMap { v in withUnsafeBytes(of: v) { Array($0) } })
    }

    /// Refuses a global whose layout in the object is not the declared one.
    private mutating func write(_ name: String, _ declared: ProgramInterface.GlobalLayout, _ value: [UInt8]) throws(SystemError) {
        guard let v = globals[name], v.layout == declared, v.offset + declared.byteSize <= bytes.count else {
            throw .call("setting \(name) in .rodata (not in the object as declared)", errno: EINVAL)
        }
        for i in 0..<declared.byteSize { bytes[v.offset + i] = i < value.count ? value[i] : 0 }
    }

    /// Hands the settings to libbpf, which loads them with the object.
    func commit() throws(SystemError) {
        try check("bpf_map__set_initial_value(.rodata)", bpf_map__set_initial_value(map, bytes, bytes.count))
    }

    /// The bytes of a global as they will be loaded (for tests).
    func value(of name: String) -> ArraySlice<UInt8>? {
        guard let v = globals[name], v.offset + v.layout.byteSize <= bytes.count else { return nil }
        return bytes[v.offset..<(v.offset + v.layout.byteSize)]
    }
}

/// BTF kind numbers (include/uapi/linux/btf.h); both libbpf and the kernel headers declare
/// them, which makes the imported names ambiguous in Swift.
enum BTFKind {
    static let structure: UInt32 = 4
    static let typedef: UInt32 = 8
    static let datasec: UInt32 = 15
}
