/// What a connection was, written when it reaches CLOSE.
public struct ConnectionRecord: Hashable, Sendable {
    public enum Role: String, Sendable {
        case client, server, listener, unknown
    }

    public enum Closer: String, Sendable {
        /// This side sent the first FIN (-> FIN_WAIT1).
        case local
        /// The peer's FIN came first (-> CLOSE_WAIT).
        case remote
        /// Neither FIN: a reset or an abort (e.g. ESTABLISHED -> CLOSE), or a failed connect.
        case reset
        case unknown
    }

    /// One state the socket lived in, and for how long (nil: entered before the tracer saw it).
    public struct Span: Hashable, Sendable {
        public var state: TCPState
        public var nanoseconds: UInt64?
        public init(state: TCPState, nanoseconds: UInt64?) {
            self.state = state
            self.nanoseconds = nanoseconds
        }
    }

    public var time: WallTime
    public var cookie: UInt64
    public var local: IPAddress
    public var localPort: UInt16
    public var remote: IPAddress
    public var remotePort: UInt16
    public var role: Role
    public var owner: Owner?
    public var timeline: [Span]
    /// Client SYN_SENT -> ESTABLISHED.
    public var connectNanoseconds: UInt64?
    /// From the first state after CLOSE to CLOSE; nil when the tracer did not see the start.
    public var lifetimeNanoseconds: UInt64?
    public var closedBy: Closer
    /// At close the kernel handed the connection to a timewait socket, which holds its address
    /// and port for up to 60 s (TIME_WAIT is never a traced state: FIN_WAIT2/CLOSING -> CLOSE).
    public var timeWait: Bool {
        timeWaitState != nil
    }
    /// The timewait socket's state: TIME_WAIT when the peer's FIN had arrived (or CLOSING);
    /// FIN_WAIT2 for an orphaned socket still waiting for it — it becomes TIME_WAIT if the FIN
    /// comes within tcp_fin_timeout. nil: no timewait socket.
    public var timeWaitState: TCPState?
    /// Payload bytes: the kernel's counters without the SYN and FIN sequence numbers.
    public var bytesSent: UInt64?
    public var bytesReceived: UInt64?
    public var retransmissions: UInt32?
    public var smoothedRTTMicroseconds: UInt32?
    /// The tracer saw only part of this connection (it existed before the tracer started, or
    /// its table entry was evicted).
    public var partial: Bool

    public var family: AddressFamily { local.isUnspecified ? remote.family : local.family }
}

/// A socket in CLOSE_WAIT longer than the threshold: its peer closed, the application has not.
public struct LingererRecord: Hashable, Sendable {
    public enum Event: String, Sendable {
        /// Crossed the threshold and is still in CLOSE_WAIT.
        case lingering
        /// Finally left CLOSE_WAIT (the application closed it, or the socket was reset).
        case closed
        /// `report` only: still in CLOSE_WAIT when the recorded log ends (any age).
        case openAtEnd = "open_at_end"
    }

    /// The process holding the socket, as /proc/PID/fd shows it (the answer `ss -p` gives).
    public struct Holder: Hashable, Sendable {
        public var pid: UInt32
        public var comm: String
        public var fd: Int32?
        public init(pid: UInt32, comm: String, fd: Int32?) {
            self.pid = pid
            self.comm = comm
            self.fd = fd
        }
    }

    public var event: Event
    public var time: WallTime
    public var cookie: UInt64
    public var local: IPAddress
    public var localPort: UInt16
    public var remote: IPAddress
    public var remotePort: UInt16
    public var holder: Holder?
    public var inode: UInt64?
    /// Time in CLOSE_WAIT so far (lingering) or in all (closed).
    public var ageNanoseconds: UInt64
    /// The socket was already in CLOSE_WAIT when the tracer started: the age is a lower bound.
    public var ageIsLowerBound: Bool
    /// Bytes received that the application has not read.
    public var unreadBytes: UInt64?

    public var family: AddressFamily { local.isUnspecified ? remote.family : local.family }
}
