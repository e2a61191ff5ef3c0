/// Connection records by role and by who closed first, and the retransmissions they carried
/// (the kernel's `total_retrans` read at CLOSE). Fixed size: 4 roles × 4 closers.
public struct ClosedConnections: Hashable, Sendable {
    private var counts = [UInt64](repeating: 0, count: 16)
    /// Retransmitted segments over every closed connection whose counters were read.
    public private(set) var retransmissions: UInt64 = 0
    public init() {}

    public mutating func record(_ c: ConnectionRecord) {
        counts[Self.slot(c.role, c.closedBy)] &+= 1
        if let r = c.retransmissions { retransmissions &+= UInt64(r) }
    }

    public subscript(role: ConnectionRecord.Role, closedBy: ConnectionRecord.Closer) -> UInt64 {
        counts[Self.slot(role, closedBy)]
    }

    static func slot(_ role: ConnectionRecord.Role, _ closer: ConnectionRecord.Closer) -> Int {
        ConnectionRecord.Role.allCases.firstIndex(of: role)! * 4 + ConnectionRecord.Closer.allCases.firstIndex(of: closer)!
    }
}
