import TcptraceKernel
import TcptraceHost
import TcptraceCore

/// The state every event touches (see `TraceRun.hot`).
struct HotState {
    var table: ConnectionTable
    var summary: RunSummary
    var timeCache: RFC3339Cache

    @inline(__always)
    mutating func ingest(_ event: Transition, into outcome: inout ConnectionTable.Outcome) -> Transition {
        table.ingest(event, summary: &summary, into: &outcome)
    }
}
