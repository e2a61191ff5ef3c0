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
