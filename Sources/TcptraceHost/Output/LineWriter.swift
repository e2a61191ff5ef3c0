import CTcptraceHost
import Glibc
import TcptraceCore

/// Buffered output that only ever holds whole lines and writes them in large chunks, so a
/// file ends with a whole line whenever the program stops.
///
/// The buffer lives behind a pointer the writer owns (`storage`): the per-event formatting
/// path appends through it without the exclusivity check and retain/release a class
/// property access costs.
///
/// For a regular file, write-back is paced: each `writeBackChunk` written is handed to the
/// disk at once (`sync_file_range` WRITE, no wait), and the chunk `writeBackWindow` before
/// it is waited for and dropped from the page cache. Dirty pages then stay at a few chunks instead of growing
/// to the kernel's dirty limit, where `write()` is throttled for up to 200 ms at a time
/// (balance_dirty_pages) and the ring buffer overflows behind it.
public final class LineWriter {
    public private(set) var fd: Int32
    /// nil for a descriptor this writer does not own (standard output).
    private var owned: FileDescriptor?
    /// The file's path, for `reopen`; nil for standard output.
    public let path: String?
    public let storage: UnsafeMutablePointer<[UInt8]>
    /// Flush once this much is buffered, so memory stays bounded however fast events come.
    public static let flushThresholdBytes = 256 << 10
    var flushThreshold: Int { Self.flushThresholdBytes }
    static let writeBackChunk: Int64 = 8 << 20
    /// Chunks under write-back before the oldest is waited for: the disk may fall this far
    /// (32 MB) behind before `flush` waits at all.
    static let writeBackWindow: Int64 = 4
    /// After a stop signal, a write to an output that takes nothing for this long is given up.
    public static let stallLimit: UInt64 = 1_000_000_000
    /// After a stop signal, writing is given up this long after the stop was seen, stalled or not.
    public static let stopLimit: UInt64 = 2_000_000_000
    /// The first write error: from then on nothing is written (`flush` drops and counts).
    public private(set) var failure: OutputError?
    /// Lines dropped because the output was gone (one record each in JSON).
    public private(set) var unwrittenLines: UInt64 = 0
    /// When a flush first saw the stop signal.
    private var stopSeenAt: UInt64?
    /// Regular files only: the file offset written up to, and where unstarted write-back begins.
    private var fileOffset: Int64 = -1
    private var writeBackStart: Int64 = 0

    public var buffer: [UInt8] {
        get { storage.pointee }
        _modify { yield &storage.pointee }
        set { storage.pointee = newValue }
    }

    /// Writes to standard output, which stays open.
    public convenience init() { self.init(fd: 1, owned: nil, path: nil) }

    private init(fd: Int32, owned: consuming FileDescriptor?, path: String?) {
        self.fd = fd
        self.owned = owned
        self.path = path
        storage = .allocate(capacity: 1)
        storage.initialize(to: [])
        storage.pointee.reserveCapacity(flushThreshold + 4096)
        startPacing()
    }

    /// Write-back pacing from the current offset, for a regular file (off for anything else).
    private func startPacing() {
        fileOffset = -1
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG {
            let at = lseek(fd, 0, SEEK_CUR)
            if at >= 0 {
                fileOffset = Int64(at)
                writeBackStart = Int64(at) & ~(Self.writeBackChunk - 1)
            }
        }
    }

    /// Creates or truncates `path` for writing; with `append`, creates it or appends to it, and
    /// ends a last line left cut short (a full disk) so the first new record stays whole.
    /// Through `OutputFile.open`: a link planted at the path is refused, never followed.
    public static func open(path: String, append: Bool = false) throws(OutputFile.OpenError) -> LineWriter {
        let file = try OutputFile.open(path, append: append)
        let writer = LineWriter(fd: file.raw, owned: file, path: path)
        if append && !writer.endsWithWholeLine() { writer.buffer.append(UInt8(ascii: "\n")) }
        return writer
    }

    /// Whether the file is empty or ends with a newline, read through a descriptor of its own on
    /// the same file (/proc/self/fd: the writer's is write-only, and the path may have changed).
    private func endsWithWholeLine() -> Bool {
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0,
            let file = try? FileDescriptor.open("/proc/self/fd/\(fd)", O_RDONLY)
        else { return true }
        var last: UInt8 = 0
        return pread(file.raw, &last, 1, st.st_size - 1) == 1 ? last == UInt8(ascii: "\n") : true
    }

    /// Opens the output path again (SIGHUP, after logrotate renamed the file): what is buffered,
    /// whole lines only, goes to the old file first; then the path is opened for appending
    /// (created with the old file's permissions if missing) and the old file closed, so every
    /// line lands whole in exactly one of the two. Throws when writing to the old file fails;
    /// returns why the path could not be opened (a link or something other than a regular file
    /// there: `OutputFile.reopen`), in which case the old file stays the output.
    /// Standard output: nothing to do.
    public func reopen() throws(OutputError) -> OutputFile.OpenError? {
        guard let path else { return nil }
        try flush()
        var st = stat()
        let mode = fstat(fd, &st) == 0 ? st.st_mode & 0o7777 : 0o644
        let file: FileDescriptor
        do {
            file = try OutputFile.reopen(path, mode: mode)
        } catch {
            return error
        }
        fd = file.raw
        owned = consume file
        startPacing()
        return nil
    }

    deinit {
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    public var isTerminal: Bool { isatty(fd) == 1 }

    /// Nothing written or buffered yet: an empty regular file (a file reopened after rotation).
    public var isEmptyFile: Bool {
        var st = stat()
        return storage.pointee.isEmpty && fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && st.st_size == 0
    }

    @inline(__always)
    public func flushIfFull() throws(OutputError) {
        if storage.pointee.count >= flushThreshold { try flush() }
    }

    /// Writes what is buffered. The first failure is thrown; from then on the output is gone and
    /// every flush drops what is buffered, counting its lines (`unwrittenLines`). After a stop
    /// signal, a write that makes no progress for `stallLimit`, or any still going on
    /// `stopLimit` after the stop, is given up (`.stalled`): the signal and the nudges after it
    /// (`StopSignal`) interrupt a write blocked on a stalled pipe.
    public func flush() throws(OutputError) {
        if failure != nil {
            dropBuffer(from: 0)
            return
        }
        var written = 0
        let count = storage.pointee.count
        var lastProgress = SystemClock.monotonicNanoseconds()
        while written < count {
            let n = storage.pointee.withUnsafeBytes { write(fd, $0.baseAddress! + written, count - written) }
            if n < 0 {
                let e = errno
                if e == EINTR || e == EAGAIN {
                    if stalledAfterStop(lastProgress: lastProgress) { try fail(.stalled, writtenUpTo: written) }
                    continue
                }
                try fail(e == EPIPE ? .closed : .failed(errno: e), writtenUpTo: written)
            }
            written += n
            lastProgress = SystemClock.monotonicNanoseconds()
            if written < count && stalledAfterStop(lastProgress: lastProgress) { try fail(.stalled, writtenUpTo: written) }
        }
        storage.pointee.removeAll(keepingCapacity: true)
        if fileOffset >= 0 && written > 0 {
            fileOffset += Int64(written)
            paceWriteBack()
        }
    }

    /// After a stop: no byte taken for `stallLimit`, or `stopLimit` gone since the stop was seen.
    private func stalledAfterStop(lastProgress: UInt64) -> Bool {
        guard StopSignal.received != 0 else { return false }
        let now = SystemClock.monotonicNanoseconds()
        if stopSeenAt == nil { stopSeenAt = now }
        return now &- max(lastProgress, stopSeenAt!) >= Self.stallLimit || now &- stopSeenAt! >= Self.stopLimit
    }

    /// The output is gone: what was not written is counted and dropped, and `error` thrown.
    private func fail(_ error: OutputError, writtenUpTo written: Int) throws(OutputError) {
        failure = error
        dropBuffer(from: written)
        throw error
    }

    /// Drops the buffer from `offset`, counting its lines (a line cut short counts as not written).
    private func dropBuffer(from offset: Int) {
        let count = storage.pointee.count
        if offset < count {
            unwrittenLines += storage.pointee.withUnsafeBytes { b in
                var lines: UInt64 = 0
                for byte in b[offset..<count] where byte == UInt8(ascii: "\n") { lines += 1 }
                return lines
            }
        }
        storage.pointee.removeAll(keepingCapacity: true)
    }

    /// Starts write-back of every whole chunk written since the last call; waits for the chunk
    /// before each and drops it from the page cache. Errors (a file system without
    /// sync_file_range) turn pacing off: the page cache then works as before.
    private func paceWriteBack() {
        let chunk = Self.writeBackChunk
        while fileOffset - writeBackStart >= chunk {
            if tcptrace_writeback_start(fd, writeBackStart, chunk) != 0 {
                fileOffset = -1
                return
            }
            let lag = chunk * Self.writeBackWindow
            if writeBackStart >= lag {
                _ = tcptrace_writeback_finish(fd, writeBackStart - lag, chunk)
            }
            writeBackStart += chunk
        }
    }
}

/// One line on stderr, unbuffered.
public func printError(_ message: String) {
    writeStandardError(Array("tcptrace-bpf: \(message)\n".utf8))
}

/// Bytes to stderr, unbuffered, all of them unless it fails.
public func writeStandardError(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { b in
        var done = 0
        while done < b.count {
            let n = retryingOnInterrupt { write(2, b.baseAddress! + done, b.count - done) }
            if n <= 0 { return }
            done += n
        }
    }
}
