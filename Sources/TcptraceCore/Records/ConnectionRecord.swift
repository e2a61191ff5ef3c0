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
    /// The kernel ran neither tracer program for some of its transitions (found in the kernel:
    /// a transition began in another state than the last one seen ended in): its timeline
    /// lacks those states, and the time of the state before them includes theirs.
    public var gap = false
    /// A connect() that failed, and the errno the application got; nil for any other connection.
    public var connectError: ConnectError?

    public init(
        time: WallTime, identity: SocketIdentity, role: Role, owner: Owner?, timeline: [Span],
        connectNanoseconds: UInt64?, lifetimeNanoseconds: UInt64?, closedBy: Closer, timeWaitState: TCPState?,
        bytesSent: UInt64? = nil, bytesReceived: UInt64? = nil, retransmissions: UInt32? = nil,
        smoothedRTTMicroseconds: UInt32? = nil, partial: Bool, connectError: ConnectError? = nil
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
        self.connectError = connectError
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
        v.field(
            "gap", &r.gap, Boolean.self, text: .flag(" (gap)"), required: false,
            "the kernel skipped some of its transitions without running the tracer's programs (counted in the summary's `lost.unseen`): the timeline lacks those states")
        v.field(
            "connect_error", &r.connectError, Nullable<Keyword<ConnectError>>.self, text: .labeled(" failed connect "),
            required: false,
            "a failed `connect()`: the errno the application got. `EADDRNOTAVAIL`: no free local port (`CLOSE -> SYN_SENT -> CLOSE` with local port 0); `ECONNREFUSED`: RST in `SYN_SENT`; `ETIMEDOUT`: SYN retries exhausted; others as the kernel set `sk_err`. `null` for any other connection")
    }

    public var family: AddressFamily { identity.family }
}
