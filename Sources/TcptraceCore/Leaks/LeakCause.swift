/// Why a CLOSE_WAIT socket lingers, from the sock_diag answer read for each lingerer.
public enum LeakCause: String, Hashable, Sendable, CaseIterable, Comparable {
    /// The child still sits in a listener's accept queue; no file holds it (the accept loop is
    /// stuck or slow). Its holder is the listener's process.
    case notAccepted = "not_accepted"
    /// Recv-Q > 0: the peer's data and FIN lie unread (the reader stopped).
    case unread
    /// Recv-Q 0: nothing left to read, and close() never called.
    case notClosed = "not_closed"

    /// From sock_diag: `inode` 0 means no file holds the socket; `unreadBytes` excludes the FIN.
    public init(inode: UInt64, unreadBytes: UInt64) {
        self = inode == 0 ? .notAccepted : unreadBytes > 0 ? .unread : .notClosed
    }

    public static func < (a: LeakCause, b: LeakCause) -> Bool { a.rawValue < b.rawValue }
}

/// Which side of the connection the leaking process is.
public enum LeakRole: String, Hashable, Sendable, CaseIterable {
    /// Accepted (or waiting to be) from a listener: the endpoint is the listening address.
    case server
    /// Connected out: the endpoint is the destination.
    case client
}

/// How a group's socket count moved over the last minute.
public enum LeakTrend: String, Hashable, Sendable, CaseIterable {
    case growing, steady, draining
}
