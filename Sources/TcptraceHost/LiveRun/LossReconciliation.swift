import TcptraceCore

/// After lost events, some table entries may belong to sockets whose CLOSE never arrived: a
/// sock_diag dump says which cookies still exist; the rest, idle long enough, are dropped. The
/// kernel can also skip a socket's last transitions without any counter saying so (every BPF
/// program skipped for a burst of hits, its destruction included): an entry idle in a state the
/// kernel's timers end (`ConnectionTable.isTransient`) brings a dump too, at most every 30 s,
/// and the entries it finds gone then were lost uncounted (`Result.uncounted`). Only entries of
/// the namespaces the dump reached are judged.
public struct LossReconciliation {
    /// An entry idle this long whose socket the dump did not find is gone.
    public static let idleNanoseconds: Int64 = 5_000_000_000
    /// Least time between two dumps brought by idle transient entries alone.
    public static let transientCheckNanoseconds: Int64 = 30_000_000_000
    /// Events lost as of the last dump: no new loss, no dump.
    private var lostAtLastDump: UInt64 = 0
    private var lastTransientCheck = WallTime(nanoseconds: 0)

    public init() {}

    public struct Result: Equatable, Sendable {
        /// Entries dropped: their socket is gone.
        public var vanished = 0
        /// Of those, found with no counted loss since the last dump: connections whose end the
        /// kernel never reported to the programs (lost uncounted until now).
        public var uncounted = 0
    }

    /// Drops the vanished entries if events were lost since the last call (`lost`: every event
    /// lost so far), or if an entry has idled in a transient state; says how many.
    public mutating func reconcile(_ table: inout ConnectionTable, lost: UInt64, namespaces: NamespaceDiag) -> Result {
        let now = SystemClock.wallNow()
        let idleBefore = WallTime(nanoseconds: now.nanoseconds - Self.idleNanoseconds)
        let newLoss = lost != lostAtLastDump
        if !newLoss {
            guard now.nanoseconds - lastTransientCheck.nanoseconds >= Self.transientCheckNanoseconds,
                table.hasIdleTransient(idleBefore: idleBefore)
            else { return Result() }
            lastTransientCheck = now
        }
        lostAtLastDump = lost
        // The idle entries, struck off as the dump finds their sockets: memory for the table's
        // entries, not for every socket on the host (a Set of 131,072 TIME_WAIT cookies was 3.6 MB
        // of peak RSS in a 1M-connection storm).
        var gone = table.idleCookies(idleBefore: idleBefore)
        guard !gone.isEmpty else { return Result() }
        let dumped: Set<UInt32>
        do {
            namespaces.refresh()
            dumped = try namespaces.forEach { _, s in gone.remove(s.cookie) }
        } catch {
            return Result()
        }
        let n = table.remove(vanished: gone, dumped: dumped)
        return Result(vanished: n, uncounted: newLoss ? 0 : n)
    }
}
