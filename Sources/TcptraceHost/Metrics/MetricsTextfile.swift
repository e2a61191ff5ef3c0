import Glibc
import Synchronization
import TcptraceCore

/// `--metrics-textfile`: the page for node_exporter's textfile collector, replaced whole each
/// time (written to a temporary file in the same directory, then renamed over it), so the
/// collector never reads half a page.
public struct MetricsTextfile: Sendable {
    public let path: String
    let temporary: String

    public init(path: String) {
        self.path = path
        temporary = path + ".\(getpid()).tmp"  // the collector reads only *.prom
    }

    public func write(_ text: String) throws(Errno) {
        let fd = try FileDescriptor.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { b in retryingOnInterrupt { Glibc.write(fd.raw, b.baseAddress! + done, b.count - done) } }
            if n < 0 {
                let e = Errno.current
                unlink(temporary)
                throw e
            }
            done += n
        }
        if rename(temporary, path) != 0 {
            let e = Errno.current
            unlink(temporary)
            throw e
        }
    }
}
