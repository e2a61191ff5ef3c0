import CTcptraceHost
import Glibc

/// A recorded JSON-lines log, read line by line through zlib: gzip files are decompressed,
/// plain files pass through unchanged. Memory is one read buffer and one line at most.
public final class RecordedLog {
    public enum ReadError: Error, CustomStringConvertible {
        case open(path: String, errno: Int32)
        /// The file cannot be read (EIO and the like).
        case io(path: String, message: String)
        /// The gzip stream is corrupt or cut off: what came before was read.
        case compressed(path: String, message: String)

        public var description: String {
            switch self {
            case .open(let path, let e): return "cannot open \(path): \(String(cString: strerror(e)))"
            case .io(let path, let m): return "cannot read \(path): \(m)"
            case .compressed(let path, let m): return "\(path): gzip data: \(m)"
            }
        }
    }

    /// A longer line is cut here and reported as malformed, so a file without newlines
    /// cannot take the memory.
    public static let maxLineBytes = 1 << 20
    static let readSize = 1 << 20

    /// As given; "-" is standard input.
    public let path: String
    let file: gzFile
    /// The file's size when it is a regular file (for progress); nil for a pipe.
    public let totalBytes: UInt64?
    var buffer: [UInt8]

    public init(path: String) throws(ReadError) {
        self.path = path
        let descriptor: FileDescriptor
        do {
            descriptor = path == "-" ? FileDescriptor(adopting: dup(0)) : try FileDescriptor.open(path, O_RDONLY)
        } catch {
            throw .open(path: path, errno: error.code)
        }
        // zlib owns the descriptor from here (gzclose closes it).
        var st = stat()
        totalBytes = fstat(descriptor.raw, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? UInt64(st.st_size) : nil
        guard let f = gzdopen(descriptor.raw, "rb") else { throw .open(path: path, errno: errno == 0 ? ENOMEM : errno) }
        _ = descriptor.release()
        gzbuffer(f, UInt32(Self.readSize))
        file = f
        buffer = []
        buffer.reserveCapacity(Self.readSize + Self.maxLineBytes)
    }

    deinit { gzclose(file) }

    /// Bytes of the file read so far (compressed bytes for a gzip file).
    public var bytesRead: UInt64 { UInt64(max(0, gzoffset(file))) }

    /// Calls `body` with each line (no newline, no trailing CR) and its 1-based number; a
    /// last line without a newline is passed too. `cut` is true for a line longer than
    /// `maxLineBytes`, of which only the start is passed. `body` returns false to stop.
    public func forEachLine(
        _ body: (_ line: UnsafeBufferPointer<UInt8>, _ number: UInt64, _ cut: Bool) -> Bool
    ) throws(ReadError) {
        var number: UInt64 = 0
        var start = 0
        var skippingRest = false  // inside a cut line: drop bytes up to its newline
        var chunk = [UInt8](repeating: 0, count: Self.readSize)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 {
                var code: Int32 = 0
                let message = String(cString: gzerror(file, &code))
                if code == Z_ERRNO { throw .io(path: path, message: String(cString: strerror(errno))) }
                // Lines complete before the damage were delivered; the cut one is passed as is.
                if start < buffer.count && !skippingRest {
                    number += 1
                    buffer.withUnsafeBufferPointer { b in _ = body(Self.trimmed(b, start..<b.count), number, false) }
                }
                throw .compressed(path: path, message: message)
            }
            if n == 0 { break }
            buffer.append(contentsOf: chunk[0..<Int(n)])
            var stop = false
            buffer.withUnsafeBufferPointer { b in
                var i = start
                while i < b.count {
                    guard let nl = Self.newline(in: b, from: i) else { break }
                    if skippingRest {
                        skippingRest = false
                    } else {
                        number += 1
                        if !body(Self.trimmed(b, start..<nl), number, false) {
                            stop = true
                            return
                        }
                    }
                    i = nl + 1
                    start = i
                }
                if !skippingRest && b.count - start > Self.maxLineBytes {
                    number += 1
                    if !body(UnsafeBufferPointer(rebasing: b[start..<(start + Self.maxLineBytes)]), number, true) { stop = true }
                    skippingRest = true
                }
            }
            if stop { return }
            if skippingRest {
                buffer.removeAll(keepingCapacity: true)
                start = 0
            } else if start > 0 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
        }
        if start < buffer.count && !skippingRest {
            number += 1
            buffer.withUnsafeBufferPointer { b in _ = body(Self.trimmed(b, start..<b.count), number, false) }
        }
        // A gzip stream cut short ends like a file: zlib says so only here.
        var code: Int32 = 0
        let message = String(cString: gzerror(file, &code))
        if code != Z_OK { throw .compressed(path: path, message: message) }
    }

    static func newline(in b: UnsafeBufferPointer<UInt8>, from i: Int) -> Int? {
        guard let base = b.baseAddress, let p = memchr(base + i, 0x0a, b.count - i) else { return nil }
        return base.distance(to: p.assumingMemoryBound(to: UInt8.self))
    }

    static func trimmed(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        var r = r
        if r.count > 0 && b[r.upperBound - 1] == 0x0d { r = r.lowerBound..<(r.upperBound - 1) }
        return UnsafeBufferPointer(rebasing: b[r])
    }
}
