import Glibc
import Synchronization
import TcptraceCore

/// The tracer's own process, for `process_*`.
public enum ProcessSelf {
    static let bootTime: UInt64? = Sysctl.readFile("/proc/stat").flatMap(ProcessStats.bootTime(procStat:))

    public static func stats() -> ProcessStats? {
        guard let stat = Sysctl.readFile("/proc/self/stat"), let boot = bootTime else { return nil }
        var limit = rlimit()
        let maxFDs: UInt64? = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 ? UInt64(limit.rlim_cur) : nil
        return ProcessStats(
            procStat: stat, bootTimeSeconds: boot, ticksPerSecond: UInt64(max(0, sysconf(Int32(_SC_CLK_TCK)))),
            pageBytes: UInt64(max(0, sysconf(Int32(_SC_PAGESIZE)))), openFDs: openFDs(), maxFDs: maxFDs)
    }

    static func openFDs() -> UInt64? {
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        var n: UInt64 = 0
        while let e = readdir(dir) {
            if e.pointee.d_name.0 != 0x2E { n += 1 }  // not . or ..
        }
        return n > 0 ? n - 1 : 0  // less the directory's own descriptor
    }

    /// `Tcp: RetransSegs` of this network namespace.
    public static func retransmittedSegments() -> UInt64? {
        Sysctl.readFile("/proc/net/snmp").flatMap { TcptraceCore.retransmittedSegments(procNetSnmp: $0) }
    }
}
