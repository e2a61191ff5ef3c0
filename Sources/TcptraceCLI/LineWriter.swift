import Glibc
import TcptraceCore

enum OutputError: Error, CustomStringConvertible {
    /// The reader went away (EPIPE): end quietly.
    case closed
    case failed(errno: Int32)

    var description: String {
        switch self {
        case .closed: return "output closed"
        case .failed(let e): return String(cString: strerror(e))
        }
    }
}

/// Buffered output that only ever holds whole lines and writes them in large chunks, so a
/// file ends with a whole line whenever the program stops.
final class LineWriter {
    let fd: Int32
    let ownsDescriptor: Bool
    var buffer: [UInt8] = []
    /// Flush once this much is buffered, so memory stays bounded however fast events come.
    let flushThreshold = 256 << 10

    init(fd: Int32, ownsDescriptor: Bool) {
        self.fd = fd
        self.ownsDescriptor = ownsDescriptor
        buffer.reserveCapacity(flushThreshold + 4096)
    }

    /// Creates or truncates `path` for writing.
    static func open(path: String) throws(OutputError) -> LineWriter {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw .failed(errno: errno) }
        return LineWriter(fd: fd, ownsDescriptor: true)
    }

    deinit {
        if ownsDescriptor { Glibc.close(fd) }
    }

    var isTerminal: Bool { isatty(fd) == 1 }

    @inline(__always)
    func flushIfFull() throws(OutputError) {
        if buffer.count >= flushThreshold { try flush() }
    }

    func flush() throws(OutputError) {
        var written = 0
        while written < buffer.count {
            let n = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                let e = errno
                if e == EINTR || e == EAGAIN { continue }
                buffer.removeAll(keepingCapacity: true)
                throw e == EPIPE ? .closed : .failed(errno: e)
            }
            written += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// One line on stderr, unbuffered.
func printError(_ message: String) {
    var line = Array("tcptrace-bpf: \(message)\n".utf8)
    line.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
}
