import Glibc
import CTcptraceHost

/// SIGINT and SIGTERM ask the run to stop (checked between polls); SIGHUP asks for the output
/// file to be reopened (logrotate); SIGPIPE is ignored so a closed pipe surfaces as EPIPE from
/// write().
public enum StopSignal {
    public static func install() { tcptrace_install_signal_handlers() }

    /// Asks the run to stop as a signal would (`received` is then -1).
    public static func request() { tcptrace_request_stop() }

    /// The signal that asked us to stop, -1 for `request()`, or 0.
    public static var received: Int32 { tcptrace_stop_signal() }

    /// Whether a SIGHUP came since the last call (one answer per burst of them).
    public static func takeHangup() -> Bool { tcptrace_take_hangup() != 0 }
}

/// Ends the process with `status` (exit(3): stdio flushed, no Swift cleanup).
public func exitProcess(_ status: Int32) -> Never {
    Glibc.exit(status)
}
