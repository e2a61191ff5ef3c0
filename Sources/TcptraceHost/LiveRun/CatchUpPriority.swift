import CTcptraceHost
import Glibc

/// How a ring consumer's thread is scheduled while it is behind (`--catch-up`).
///
/// Why: on a busy 2-CPU host the consumer was runnable but waiting for a CPU for half of a
/// storm or more (`/proc/PID/task/TID/schedstat` run_delay 5–9 s against 1.2–1.5 s on a CPU),
/// and the ring filled while it waited. At nice -10 the same storms kept the ring under 41%.
public enum CatchUpScheduling: String, Sendable, CaseIterable {
    /// Never changed.
    case off
    /// nice -10 while behind (or the thread's own nice if lower); needs CAP_SYS_NICE.
    case nice
    /// SCHED_FIFO priority 1 while behind: ahead of every normal task (the kernel's RT
    /// throttling still leaves others 5% of each second); needs CAP_SYS_NICE.
    case fifo
}

/// Raises the calling thread's scheduling while its consumer is behind, and restores it once it
/// has caught up. Both must be called from the consumer's own thread: with id 0, setpriority and
/// sched_setscheduler change only the calling thread on Linux.
public struct CatchUpPriority: Sendable {
    public static let raisedNice: Int32 = -10
    public static let fifoPriority: Int32 = 1

    public let scheduling: CatchUpScheduling
    /// The thread's nice value before it was raised.
    private var ownNice: Int32 = 0
    public private(set) var isRaised = false
    /// How many times the thread was raised.
    public private(set) var raises: UInt64 = 0
    /// Set when the kernel refused (no CAP_SYS_NICE): said once, not tried again.
    public private(set) var refused = false

    /// The calling thread's nice value.
    public static var currentNice: Int32 { tcptrace_thread_nice() }

    public init(_ scheduling: CatchUpScheduling) {
        self.scheduling = scheduling
    }

    public mutating func raise() {
        guard scheduling != .off, !isRaised, !refused else { return }
        let rc: Int32
        switch scheduling {
        case .off:
            return
        case .nice:
            ownNice = tcptrace_thread_nice()
            if ownNice < -20 { ownNice = 0 }
            rc = ownNice <= Self.raisedNice ? 0 : tcptrace_set_thread_nice(Self.raisedNice)
        case .fifo:
            rc = tcptrace_set_thread_fifo(Self.fifoPriority)
        }
        if rc != 0 {
            let e = errno
            refused = true
            // A systemd unit with RestrictRealtime=yes refuses SCHED_FIFO even to CAP_SYS_NICE.
            let hint = scheduling == .fifo && e == EPERM ? "; a systemd unit's RestrictRealtime=yes forbids SCHED_FIFO: use --catch-up nice there" : ""
            printError(
                "cannot raise the ring consumer's priority (\(String(cString: strerror(e)))): events may be lost when CPUs are busy\(hint)")
            return
        }
        isRaised = true
        raises += 1
    }

    /// Lowering a priority needs no privilege.
    public mutating func restore() {
        guard isRaised else { return }
        _ = scheduling == .fifo ? tcptrace_set_thread_fifo(0) : tcptrace_set_thread_nice(ownNice)
        isRaised = false
    }
}
