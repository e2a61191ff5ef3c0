import TcptraceKernel
import TcptraceHost
import TcptraceCore

/// The state every event touches (see `TraceRun.hot`).
struct HotState {
    var table: ConnectionTable
    var summary: RunSummary
    var timeCache: RFC3339Cache
    /// The current event's outcome, reset per event: one for the run (see `Outcome`).
    var outcome = ConnectionTable.Outcome()
}
