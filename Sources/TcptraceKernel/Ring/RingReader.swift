import CTcptraceHost
import Glibc
import TcptraceHost

/// The BPF ring buffer read directly, as libbpf's `ring_buffer` reads it, but with its data
/// mapped once: libbpf maps the data pages twice in a row so that a record crossing the end reads
/// contiguously, which doubles the pages resident in this process (16 MB for the 8 MB default).
/// Here a record crossing the end (rare: records are a few hundred bytes) is copied whole into a
/// scratch buffer instead.
///
/// Layout (kernel/bpf/ringbuf.c): page 0 the consumer position (the only page user space may map
/// writable), page 1 the producer position, then the data. Each record is an 8-byte header (its
/// length, with BUSY while the producer still writes it and DISCARD when it was dropped) and the
/// sample, padded to 8 bytes.
final class RingReader {
    /// The data area's size: a power of two.
    let bytes: UInt64
    private let mask: UInt64
    private let pageSize: Int
    private let consumerPage: UnsafeMutableRawPointer
    /// The producer page followed by the data.
    private let producerArea: UnsafeMutableRawPointer
    private let data: UnsafeRawPointer
    /// The map's descriptor, polled for the kernel's wakeups (readable while data is queued, as
    /// libbpf's level-triggered epoll sees it). Owned by the object, not closed here.
    private let mapFD: Int32
    private var scratch: UnsafeMutableRawPointer
    private var scratchBytes: Int
    /// Where this reader has consumed to; published to the kernel after every record.
    private var consumed: UInt64
    /// Records that crossed the end of the data and were copied.
    private(set) var copied: UInt64 = 0

    static let headerBytes: UInt64 = 8
    static let busy: UInt32 = 1 << 31
    static let discard: UInt32 = 1 << 30

    init(mapFD: Int32, bytes: UInt64) throws(SystemError) {
        pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard bytes >= UInt64(pageSize), bytes & (bytes - 1) == 0, bytes <= UInt64(Int.max / 2) else {
            throw .call("ring buffer of \(bytes) bytes (not a power-of-two number of pages)", errno: EINVAL)
        }
        self.bytes = bytes
        mask = bytes - 1
        guard let c = mmap(nil, pageSize, PROT_READ | PROT_WRITE, MAP_SHARED, mapFD, 0), c != MAP_FAILED else {
            throw .call("mmap(ring buffer consumer page)", errno: errno)
        }
        let areaBytes = pageSize + Int(bytes)
        guard let p = mmap(nil, areaBytes, PROT_READ, MAP_SHARED, mapFD, off_t(pageSize)), p != MAP_FAILED else {
            let e = errno
            munmap(c, pageSize)
            throw .call("mmap(ring buffer data)", errno: e)
        }
        consumerPage = c
        producerArea = p
        data = UnsafeRawPointer(p + pageSize)
        self.mapFD = mapFD
        scratchBytes = 4096
        scratch = .allocate(byteCount: scratchBytes, alignment: 8)
        consumed = tcptrace_load_acquire_u64(c)
    }

    deinit {
        scratch.deallocate()
        munmap(producerArea, pageSize + Int(bytes))
        munmap(consumerPage, pageSize)
    }

    /// Bytes queued and not yet consumed (approximate while records are being reserved).
    var queuedBytes: UInt64 {
        let produced = producerArea.load(as: UInt64.self)
        let consumed = consumerPage.load(as: UInt64.self)
        return produced > consumed ? produced - consumed : 0
    }

    /// Waits up to `timeoutMilliseconds` for the kernel's wakeup: 0 or more when woken or timed
    /// out, -errno on failure (-EINTR for a signal).
    func wait(timeoutMilliseconds: Int32) -> Int32 {
        var p = pollfd(fd: mapFD, events: Int16(POLLIN), revents: 0)
        let n = Glibc.poll(&p, 1, timeoutMilliseconds)
        return n < 0 ? -errno : n
    }

    /// Hands every committed record to `body`, oldest first, until the ring is empty or `body`
    /// returns false (that record counts as consumed). Returns the records handed on.
    @inline(__always)
    func consume(_ body: (UnsafeRawBufferPointer) -> Bool) -> Int {
        var handed = 0
        while true {
            let produced = tcptrace_load_acquire_u64(producerArea)
            if consumed >= produced { return handed }
            var progressed = false
            while consumed < produced {
                let offset = consumed & mask
                let header = tcptrace_load_acquire_u32(data + Int(offset))
                if header & Self.busy != 0 { break }
                progressed = true
                let length = UInt64(header & ~(Self.busy | Self.discard))
                let start = consumed
                consumed += (length + Self.headerBytes + 7) & ~7
                var more = true
                if header & Self.discard == 0 {
                    more = body(record(at: start, length: Int(length)))
                    handed += 1
                }
                tcptrace_store_release_u64(consumerPage, consumed)
                if !more { return handed }
            }
            if !progressed { return handed }
        }
    }

    /// The sample of the record whose header is at `position`: in place, or copied whole when it
    /// crosses the end of the data.
    @inline(__always)
    private func record(at position: UInt64, length: Int) -> UnsafeRawBufferPointer {
        let offset = Int((position + Self.headerBytes) & mask)
        let tail = Int(bytes) - offset
        if length <= tail { return UnsafeRawBufferPointer(start: data + offset, count: length) }
        copied += 1
        if length > scratchBytes {
            scratch.deallocate()
            scratchBytes = length
            scratch = .allocate(byteCount: length, alignment: 8)
        }
        scratch.copyMemory(from: data + offset, byteCount: tail)
        (scratch + tail).copyMemory(from: data, byteCount: length - tail)
        return UnsafeRawBufferPointer(start: scratch, count: length)
    }
}
