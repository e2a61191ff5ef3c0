import CLibbpf
import CTcptraceProgram
import Glibc
import TcptraceCore
import TcptraceHost

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
