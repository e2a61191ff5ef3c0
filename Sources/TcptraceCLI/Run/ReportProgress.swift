import Glibc
import TcptraceHost
import TcptraceCore

/// `report`'s progress line on standard error, only when it is a terminal and the inputs'
/// sizes are known: bytes read of the total, rate, time left; redrawn at most once a second,
/// cleared at the end.
final class ReportProgress {
    let total: UInt64
    var done: UInt64 = 0
    let started = SystemClock.monotonicNanoseconds()
    var drawn: UInt64 = 0
    var shown = false

    /// nil when standard error is no terminal or a size is unknown (a pipe).
    init?(paths: [String]) {
        guard isatty(2) == 1 else { return nil }
        var t: UInt64 = 0
        for p in paths {
            var st = stat()
            guard p != "-" || isatty(0) == 0, (p == "-" ? fstat(0, &st) : stat(p, &st)) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                return nil
            }
            t += UInt64(st.st_size)
        }
        guard t > 0 else { return nil }
        total = t
    }

    func tick(reading log: RecordedLog) {
        let now = SystemClock.monotonicNanoseconds()
        guard now &- drawn >= 1_000_000_000, now &- started >= 1_000_000_000 else { return }
        drawn = now
        let read = min(total, done + log.bytesRead)
        let seconds = Double(now - started) / 1e9
        let rate = Double(read) / max(seconds, 0.001)
        let left = rate > 0 ? Double(total - read) / rate : 0
        let line = ReportProgressText.line(read: read, total: total, rate: rate, left: left)
        writeStandardError(Array("\r\u{1B}[K\(line)".utf8))
        shown = true
    }

    func finished(_ log: RecordedLog) { done += log.totalBytes ?? 0 }

    func end() {
        if shown { writeStandardError(Array("\r\u{1B}[K".utf8)) }
    }
}
