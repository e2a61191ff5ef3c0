/// Converts the kernel's monotonic timestamps (bpf_ktime_get_ns) to wall-clock time with one
/// offset read at start, so a line's time is when the transition happened, not when printed.
public struct MonotonicToWall: Sendable {
    public let offsetNs: Int64
    public init(wallNow: WallTime, monotonicNowNs: UInt64) {
        offsetNs = wallNow.nanoseconds - Int64(monotonicNowNs)
    }
    public func wall(_ monotonicNs: UInt64) -> WallTime {
        WallTime(nanoseconds: Int64(monotonicNs) + offsetNs)
    }
}
