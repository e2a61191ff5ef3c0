/// What a connection was, written when it reaches CLOSE.
public struct ConnectionRecord: Hashable, Sendable, Record {
    public enum Role: String, Sendable, CaseIterable {
        case client, server, listener, unknown
    }

    public enum Closer: String, Sendable, CaseIterable {
        /// This side sent the first FIN (-> FIN_WAIT1).
        case local
        /// The peer's FIN came first (-> CLOSE_WAIT).
        case remote
        /// Neither FIN: a reset or an abort (e.g. ESTABLISHED -> CLOSE), or a failed connect.
        case reset
        case unknown
    }

    /// One state the socket lived in, and for how long (nil: entered before the tracer saw it).
    public struct Span: Hashable, Sendable, FieldGroup {
        public var state: TCPState
        public var nanoseconds: UInt64?
        public init(state: TCPState, nanoseconds: UInt64?) {
            self.state = state
            self.nanoseconds = nanoseconds
        }
        public init() { self.init(state: TCPState(rawValue: 0), nanoseconds: nil) }

        @inlinable @inline(__always)
        public static func fields<V: FieldVisitor>(_ r: inout Span, _ v: inout V) {
            v.field("state", &r.state, StateName.self, text: .plain, "a state the connection lived in")
            v.field(
                "ms", &r.nanoseconds, Nullable<Milliseconds>.self, text: TextStyle(absent: "?"),
                "milliseconds in it; null when the tracer did not see it enter that state")
        }
    }

    public var time: WallTime
    public var identity: SocketIdentity
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

    public init(
        time: WallTime, identity: SocketIdentity, role: Role, owner: Owner?, timeline: [Span],
        connectNanoseconds: UInt64?, lifetimeNanoseconds: UInt64?, closedBy: Closer, timeWaitState: TCPState?,
        bytesSent: UInt64? = nil, bytesReceived: UInt64? = nil, retransmissions: UInt32? = nil,
        smoothedRTTMicroseconds: UInt32? = nil, partial: Bool
    ) {
        self.time = time
        self.identity = identity
        self.role = role
        self.owner = owner
        self.timeline = timeline
        self.connectNanoseconds = connectNanoseconds
        self.lifetimeNanoseconds = lifetimeNanoseconds
        self.closedBy = closedBy
        self.timeWaitState = timeWaitState
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
        self.retransmissions = retransmissions
        self.smoothedRTTMicroseconds = smoothedRTTMicroseconds
        self.partial = partial
    }

    public init() {
        self.init(
            time: WallTime(nanoseconds: 0), identity: SocketIdentity(), role: .unknown, owner: nil, timeline: [],
            connectNanoseconds: nil, lifetimeNanoseconds: nil, closedBy: .unknown, timeWaitState: nil, bytesSent: nil,
            bytesReceived: nil, retransmissions: nil, smoothedRTTMicroseconds: nil, partial: false)
    }

    public static var type: StaticString { "connection" }
    public static var jsonPrefix: StaticString { "{\"type\":\"connection\",\"v\":" }
    public static var textTag: StaticString { "CONN" }

    @inlinable @inline(__always)
    public static func fields<V: FieldVisitor>(_ r: inout ConnectionRecord, _ v: inout V) {
        v.group(&r.identity)
        v.field(
            "role", &r.role, Keyword<Role>.self, text: .plain,
            "client: connected (`SYN_SENT`); server: accepted (`SYN_RECV`); unknown: the tracer did not see it begin")
        v.field(
            "owner", &r.owner, Nullable<Object<Owner>>.self, text: .plain,
            "the process that connected or listened (accepted sockets: their listener's)")
        v.field(
            "timeline", &r.timeline, List<Object<Span>>.self, text: .plain,
            "every state it lived in after CLOSE/LISTEN, in order")
        v.field(
            "connect_ms", &r.connectNanoseconds, Nullable<Milliseconds>.self, text: .labeled(" connect ", suffix: " ms"),
            "client `SYN_SENT -> ESTABLISHED`, ms")
        v.field(
            "lifetime_ms", &r.lifetimeNanoseconds, Nullable<Milliseconds>.self, text: .labeled(" life ", suffix: " ms"),
            "from its first state to CLOSE, ms; null when `partial`")
        v.field(
            "closed_by", &r.closedBy, Keyword<Closer>.self, text: .labeled(" closed by "),
            "who sent the first FIN: this side (`-> FIN_WAIT1`) or the peer (`-> CLOSE_WAIT`); reset: neither (RST, abort, refused connect)")
        var timeWait = r.timeWait  // derived: written, not read back
        v.field(
            "time_wait", &timeWait, Boolean.self, text: .hidden, required: false,
            "the kernel handed the connection to a timewait socket at close (it holds the port for up to 60 s). TIME_WAIT is never a traced state: the full socket goes `FIN_WAIT2`/`CLOSING -> CLOSE`")
        v.field(
            "timewait_state", &r.timeWaitState, Nullable<StateName>.self, text: .labeled(" timewait "),
            "`TIME_WAIT` when the peer's FIN had arrived; `FIN_WAIT2` for an orphaned socket still waiting for it (it becomes TIME_WAIT if the FIN comes within `tcp_fin_timeout`)")
        v.field(
            "bytes_sent", &r.bytesSent, Nullable<Integer<UInt64>>.self, text: .labeled(" sent ", suffix: " B"),
            "payload bytes acknowledged by the peer (the kernel's counter without SYN and FIN)")
        v.field(
            "bytes_received", &r.bytesReceived, Nullable<Integer<UInt64>>.self, text: .labeled(" received ", suffix: " B"),
            "payload bytes received")
        v.field(
            "retransmits", &r.retransmissions, Nullable<Integer<UInt32>>.self, text: .labeled(" retransmits "),
            "total retransmissions")
        v.field(
            "srtt_us", &r.smoothedRTTMicroseconds, Nullable<Integer<UInt32>>.self, text: .hidden, "smoothed RTT at close, µs")
        v.field(
            "partial", &r.partial, Boolean.self, text: .flag(" (partial)"),
            "the tracer saw only part of it (it existed before the start, or its table entry was evicted)")
    }

    public var family: AddressFamily { identity.family }
}

/// A socket in CLOSE_WAIT longer than the threshold: its peer closed, the application has not.
public struct LingererRecord: Hashable, Sendable, Record {
    public enum Event: String, Sendable, CaseIterable {
        /// Crossed the threshold and is still in CLOSE_WAIT.
        case lingering
        /// Finally left CLOSE_WAIT (the application closed it, or the socket was reset).
        case closed
        /// `report` only: still in CLOSE_WAIT when the recorded log ends (any age).
        case openAtEnd = "open_at_end"
    }

    /// The process holding the socket and the descriptor, as /proc/PID/fd shows it (the answer
    /// `ss -p` gives); `fd` nil when only the kernel-captured owner is known.
    public struct Holder: Hashable, Sendable, FieldGroup {
        public var process: Owner
        public var fd: Int32?
        public init(process: Owner, fd: Int32?) {
            self.process = process
            self.fd = fd
        }
        public init() { self.init(process: Owner(), fd: nil) }

        @inlinable @inline(__always)
        public static func fields<V: FieldVisitor>(_ r: inout Holder, _ v: inout V) {
            v.group(&r.process)
            v.field(
                "fd", &r.fd, Nullable<Signed<Int32>>.self, text: .labeled(" fd "),
                "the descriptor, from `/proc/PID/fd`; null when only the kernel-captured owner is known")
        }
    }

    public var event: Event
    public var time: WallTime
    public var identity: SocketIdentity
    public var holder: Holder?
    public var inode: UInt64?
    /// Time in CLOSE_WAIT so far (lingering) or in all (closed).
    public var ageNanoseconds: UInt64
    /// The socket was already in CLOSE_WAIT when the tracer started: the age is a lower bound.
    public var ageIsLowerBound: Bool
    /// Bytes received that the application has not read.
    public var unreadBytes: UInt64?

    public init(
        event: Event, time: WallTime, identity: SocketIdentity, holder: Holder?, inode: UInt64?, ageNanoseconds: UInt64,
        ageIsLowerBound: Bool, unreadBytes: UInt64?
    ) {
        self.event = event
        self.time = time
        self.identity = identity
        self.holder = holder
        self.inode = inode
        self.ageNanoseconds = ageNanoseconds
        self.ageIsLowerBound = ageIsLowerBound
        self.unreadBytes = unreadBytes
    }

    public init() {
        self.init(
            event: .lingering, time: WallTime(nanoseconds: 0), identity: SocketIdentity(), holder: nil, inode: nil,
            ageNanoseconds: 0, ageIsLowerBound: false, unreadBytes: nil)
    }

    public static var type: StaticString { "lingerer" }
    public static var jsonPrefix: StaticString { "{\"type\":\"lingerer\",\"v\":" }
    public static var textTag: StaticString { "LINGERER" }

    @inlinable @inline(__always)
    public static func fields<V: FieldVisitor>(_ r: inout LingererRecord, _ v: inout V) {
        v.group(&r.identity)
        v.field(
            "event", &r.event, Keyword<Event>.self, text: .plain,
            "crossed the threshold and is still in CLOSE_WAIT / finally left it (then `age_s` is the whole time it lingered) / `report` only: still in CLOSE_WAIT when the log ends")
        v.field(
            "holder", &r.holder, Nullable<Object<Holder>>.self, text: .column(0, absent: "holder unknown"),
            "the process holding the socket and the fd number (what `ss -p` shows)")
        v.field("inode", &r.inode, Nullable<Integer<UInt64>>.self, text: .labeled(" inode "), "the socket's inode")
        v.field("age_s", &r.ageNanoseconds, Seconds.self, text: .labeled(" age ", suffix: " s"), "seconds in CLOSE_WAIT")
        v.field(
            "age_is_lower_bound", &r.ageIsLowerBound, Boolean.self, text: .flag(" (at least)"),
            "the socket was already in CLOSE_WAIT when the tracer started (found by the start-up census): it has been there at least this long")
        v.field(
            "unread_bytes", &r.unreadBytes, Nullable<Integer<UInt64>>.self, text: .labeled(" unread ", suffix: " B"),
            "bytes received that the application has not read")
    }

    public var family: AddressFamily { identity.family }
}
