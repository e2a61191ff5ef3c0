import Glibc

/// An open file descriptor owned by exactly one value, closed when that value ends.
public struct FileDescriptor: ~Copyable {
    public let raw: Int32

    public init(adopting raw: Int32) { self.raw = raw }

    /// open(2) with O_CLOEXEC.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(Errno) -> FileDescriptor {
        let fd = retryingOnInterrupt { Glibc.open(path, flags | O_CLOEXEC, mode) }
        if fd < 0 { throw .current }
        return FileDescriptor(adopting: fd)
    }

    /// socket(2) with SOCK_CLOEXEC.
    public static func socket(_ domain: Int32, _ type: Int32, _ proto: Int32) throws(Errno) -> FileDescriptor {
        let fd = Glibc.socket(domain, type | Int32(SOCK_CLOEXEC.rawValue), proto)
        if fd < 0 { throw .current }
        return FileDescriptor(adopting: fd)
    }

    deinit { Glibc.close(raw) }

    /// Gives up ownership (to a library that closes it itself).
    public consuming func release() -> Int32 {
        let fd = raw
        discard self
        return fd
    }

    /// read(2); 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        let n = retryingOnInterrupt { Glibc.read(raw, buffer.baseAddress, buffer.count) }
        if n < 0 { throw .current }
        return n
    }

    /// Up to `limit` bytes from the current offset to the end.
    public func readAll(limit: Int = 1 << 20) throws(Errno) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while out.count < limit {
            let n = chunk.withUnsafeMutableBytes { b in retryingOnInterrupt { Glibc.read(raw, b.baseAddress, b.count) } }
            if n < 0 { throw .current }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<min(n, limit - out.count)])
        }
        return out
    }
}
