import TcptraceCore

/// What a live view reads from the run at its turn.
struct LiveRun {
    var summary: RunSummary
    var lost: LostEvents
    /// Whether the connection table still has this socket in CLOSE_WAIT.
    var isInCloseWait: (UInt64) -> Bool
}
