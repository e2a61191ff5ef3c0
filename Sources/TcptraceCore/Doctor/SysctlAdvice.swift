/// One statement of the audit: a sysctl, its value here, what it does, and the kernel
/// documentation that says so.
public struct SysctlFact: Hashable, Sendable {
    public var sysctl: String
    /// The value as /proc/sys shows it; nil: the sysctl does not exist on this kernel.
    public var value: String?
    public var fact: String
    public var doc: String
}

/// Advice, given only when the census or the counters show the problem it addresses.
public struct SysctlAdvice: Hashable, Sendable {
    public enum Rule: String, Sendable, CaseIterable {
        case twRecyclePresent = "tw_recycle_present"
        case twReuseNearPortExhaustion = "tw_reuse_near_port_exhaustion"
        case twReuseWithoutTimestamps = "tw_reuse_without_timestamps"
        case timeWaitOverflow = "time_wait_overflow"
        case finTimeoutIsNotTimeWait = "fin_timeout_is_not_time_wait"
        case closeWaitIsAnApplicationBug = "close_wait_is_an_application_bug"
        case synBacklogPressure = "syn_backlog_pressure"
        case listenQueueOverflow = "listen_queue_overflow"
    }
    public var rule: Rule
    /// The sysctl concerned; nil when none can help (CLOSE_WAIT).
    public var sysctl: String?
    public var message: String
    public var doc: String
}
