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

/// Gives up, once the privileged setup is done, every capability the rest of the run does not use.
public enum LeastPrivilege {
    public struct Outcome: Sendable {
        /// Effective and permitted from now on.
        public var kept: Capabilities
        /// The bounding set after: cut to `kept` when the process had CAP_SETPCAP.
        public var bounding: Capabilities
    }

    /// Keeps `needed` (those of it the process has) and drops everything else from the
    /// effective, permitted and inheritable sets, the ambient set, and (with CAP_SETPCAP) the
    /// bounding set; then sets no_new_privs, so no exec can gain privileges again.
    /// `conditional` is kept only if `works` fails with the effective set already cut to
    /// `needed`: for the kernels where reading BPF maps by fd still takes CAP_BPF.
    /// Only the calling thread's sets change (capabilities are per thread): call it while the
    /// process has one thread; threads made later inherit the reduced sets.
    public static func reduce(
        keeping needed: Capabilities, conditional: Capabilities = [], ifFailingWithout works: () -> Bool = { true }
    ) throws(SystemError) -> Outcome {
        let start = try Capabilities.current()
        var kept = start.permitted.intersection(needed)
        let optional = start.permitted.intersection(conditional).subtracting(kept)
        if !optional.isEmpty {
            try Capabilities.set(.init(effective: kept, permitted: start.permitted, inheritable: start.inheritable))
            let fine = works()
            try Capabilities.set(start)
            if !fine { kept.formUnion(optional) }
        }
        // The bounding set first: dropping from it takes CAP_SETPCAP, which the capset below removes.
        let last = Capabilities.lastNumber
        if start.effective.contains(.setpcap) {
            for n in 0...last where !kept.contains(Capabilities(number: n)) && tcptrace_capbset_read(Int32(n)) > 0 {
                _ = tcptrace_capbset_drop(Int32(n))
            }
        }
        let bounding = (0...last).reduce(into: Capabilities()) { set, n in
            if tcptrace_capbset_read(Int32(n)) > 0 { set.insert(Capabilities(number: n)) }
        }
        _ = tcptrace_ambient_clear()
        try Capabilities.set(.init(effective: kept, permitted: kept, inheritable: []))
        let rc = tcptrace_set_no_new_privs()
        if rc < 0 { throw .call("prctl(PR_SET_NO_NEW_PRIVS)", errno: -rc) }
        return Outcome(kept: try Capabilities.current().permitted, bounding: bounding)
    }
}
