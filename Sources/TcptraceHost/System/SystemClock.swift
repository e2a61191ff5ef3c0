import Glibc
import TcptraceCore

/// The clocks the kernel program and the wall use, read once where needed.
public enum SystemClock {
    /// CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns().
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public static func wallNow() -> WallTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return WallTime(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    public static func monotonicToWall() -> MonotonicToWall {
        let wall = wallNow()
        return MonotonicToWall(wallNow: wall, monotonicNowNs: monotonicNanoseconds())
    }

    /// Local time's offset from UTC now, for text output.
    public static func utcOffsetSeconds() -> Int64 {
        var now = time(nil)
        var tmLocal = tm()
        localtime_r(&now, &tmLocal)
        return Int64(tmLocal.tm_gmtoff)
    }
}
