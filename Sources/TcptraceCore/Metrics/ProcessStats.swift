/// The `process_*` metrics of the tracer itself (from /proc/self).
public struct ProcessStats: Hashable, Sendable {
    public var cpuSeconds: Double
    public var residentBytes: UInt64
    public var virtualBytes: UInt64
    /// Since the Unix epoch.
    public var startTimeSeconds: Double
    public var openFDs: UInt64?
    public var maxFDs: UInt64?
    public init(
        cpuSeconds: Double, residentBytes: UInt64, virtualBytes: UInt64, startTimeSeconds: Double, openFDs: UInt64?,
        maxFDs: UInt64?
    ) {
        self.cpuSeconds = cpuSeconds
        self.residentBytes = residentBytes
        self.virtualBytes = virtualBytes
        self.startTimeSeconds = startTimeSeconds
        self.openFDs = openFDs
        self.maxFDs = maxFDs
    }

    /// From /proc/self/stat (fields after the command name), the boot time (/proc/stat
    /// `btime`), clock ticks per second and the page size.
    public init?(procStat: String, bootTimeSeconds: UInt64, ticksPerSecond: UInt64, pageBytes: UInt64, openFDs: UInt64?, maxFDs: UInt64?) {
        guard let end = procStat.lastIndex(of: ")"), ticksPerSecond > 0 else { return nil }
        // After ") ": state is field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24.
        let f = procStat[procStat.index(after: end)...].split(separator: " ")
        guard f.count >= 22, let utime = UInt64(f[11]), let stime = UInt64(f[12]), let start = UInt64(f[19]),
            let vsize = UInt64(f[20]), let rss = UInt64(f[21])
        else { return nil }
        self.init(
            cpuSeconds: Double(utime + stime) / Double(ticksPerSecond), residentBytes: rss * pageBytes, virtualBytes: vsize,
            startTimeSeconds: Double(bootTimeSeconds) + Double(start) / Double(ticksPerSecond), openFDs: openFDs, maxFDs: maxFDs)
    }

    /// `btime` from /proc/stat.
    public static func bootTime(procStat text: String) -> UInt64? {
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return UInt64(line.dropFirst(6).drop(while: { $0 == " " }))
        }
        return nil
    }
}
