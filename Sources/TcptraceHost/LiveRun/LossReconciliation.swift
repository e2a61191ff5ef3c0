import TcptraceCore

/// After lost events, some table entries may belong to sockets whose CLOSE never arrived: a
/// sock_diag dump says which cookies still exist; the rest, idle long enough, are dropped.
public struct LossReconciliation {
    /// An entry idle this long whose socket the dump did not find is gone.
    public static let idleNanoseconds: Int64 = 5_000_000_000
    /// Events lost as of the last dump: no new loss, no dump.
    private var lostAtLastDump: UInt64 = 0

    public init() {}

    /// Drops the vanished entries if events were lost since the last call (`lost`: every event
    /// lost so far); returns how many.
    public mutating func reconcile(_ table: inout ConnectionTable, lost: UInt64, namespaces: NamespaceDiag) -> Int {
        guard lost != lostAtLastDump else { return 0 }
        lostAtLastDump = lost
        var alive = Set<UInt64>()
        do {
            namespaces.refresh()
            try namespaces.forEach { _, s in alive.insert(s.cookie) }
        } catch {
            return 0
        }
        let idleBefore = WallTime(nanoseconds: SystemClock.wallNow().nanoseconds - Self.idleNanoseconds)
        return table.removeVanished(alive: alive, idleBefore: idleBefore)
    }
}
