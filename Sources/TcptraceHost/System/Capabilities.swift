import CTcptraceHost
import Glibc

/// A set of Linux capabilities (capabilities(7)), one bit per capability number, as
/// /proc/PID/status and capget(2) show them.
public struct Capabilities: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(number: Int) { rawValue = 1 << UInt64(number) }

    public static let dacReadSearch = Capabilities(number: 2)
    public static let setpcap = Capabilities(number: 8)
    public static let sysPtrace = Capabilities(number: 19)
    public static let sysAdmin = Capabilities(number: 21)
    public static let sysNice = Capabilities(number: 23)
    public static let perfmon = Capabilities(number: 38)
    public static let bpf = Capabilities(number: 39)

    /// include/uapi/linux/capability.h, by number.
    static let names = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// The capability numbers in the set, lowest first.
    public var numbers: [Int] { (0..<64).filter { rawValue & (1 << UInt64($0)) != 0 } }

    /// Names separated by spaces (`CAP_BPF CAP_PERFMON`), `none` for the empty set.
    public var description: String {
        isEmpty ? "none" : numbers.map { $0 < Self.names.count ? Self.names[$0] : "cap_\($0)" }.joined(separator: " ")
    }

    /// The calling thread's sets (capget(2)).
    public struct ThreadSets: Equatable, Sendable {
        public var effective: Capabilities
        public var permitted: Capabilities
        public var inheritable: Capabilities
    }

    public static func current() throws(SystemError) -> ThreadSets {
        var e: UInt64 = 0, p: UInt64 = 0, i: UInt64 = 0
        let rc = tcptrace_capget(&e, &p, &i)
        if rc < 0 { throw .call("capget", errno: -rc) }
        return ThreadSets(effective: Capabilities(rawValue: e), permitted: Capabilities(rawValue: p), inheritable: Capabilities(rawValue: i))
    }

    static func set(_ s: ThreadSets) throws(SystemError) {
        let rc = tcptrace_capset(s.effective.rawValue, s.permitted.rawValue, s.inheritable.rawValue)
        if rc < 0 { throw .call("capset", errno: -rc) }
    }

    /// The highest capability number this kernel knows.
    static var lastNumber: Int {
        Sysctl.readFile("/proc/sys/kernel/cap_last_cap", limit: 16).flatMap { Int($0.filter(\.isNumber)) } ?? 40
    }
}
