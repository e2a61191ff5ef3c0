import Glibc
import CTcptraceHost

/// SIGINT and SIGTERM ask the run to stop (checked between polls); SIGPIPE is ignored so a
/// closed pipe surfaces as EPIPE from write().
public enum StopSignal {
    public static func install() { tcptrace_install_signal_handlers() }

    /// SIGHUP stops the run too (a live view whose terminal went away).
    public static func includeHangup() { tcptrace_stop_on_hangup() }

    /// Asks the run to stop as a signal would (`received` is then -1).
    public static func request() { tcptrace_request_stop() }

    /// The signal that asked us to stop, -1 for `request()`, or 0.
    public static var received: Int32 { tcptrace_stop_signal() }
}

/// Ends the process with `status` (exit(3): stdio flushed, no Swift cleanup).
public func exitProcess(_ status: Int32) -> Never {
    Glibc.exit(status)
}
