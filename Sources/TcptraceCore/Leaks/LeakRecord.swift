/// One group of CLOSE_WAIT lingerers: the same holder, endpoint, cause and opener stack. Written
/// when the group appears, when it changes materially, at a regular interval, when its last
/// socket leaves CLOSE_WAIT, and at exit.
public struct LeakRecord: Hashable, Sendable, Record {
    public enum Event: String, Sendable, CaseIterable {
        /// The group's first lingerer crossed the threshold.
        case appeared
        /// Its size moved by at least a tenth (or one socket when small), or its trend changed.
        case changed
        /// Still there, unchanged enough to say nothing else (JSON only, every minute).
        case interval
        /// Its last socket left CLOSE_WAIT: the group is gone.
        case resolved
        /// The run ended (or, in `report`, the log) with the group still there.
        case exit
    }

    public var time: WallTime
    public var event: Event
    /// The group's number in this run (a run's records about one group share it).
    public var group: UInt32
    /// The process holding the sockets (for `not_accepted`, the listener's); nil when unknown.
    public var holder: Owner?
    /// The holder's container, as the lingerer records name it.
    public var container: String?
    public var netns: UInt32?
    public var role: LeakRole
    /// The listening address (server) or the destination (client).
    public var address: IPAddress
    public var port: UInt16
    public var cause: LeakCause
    /// The `stack` record with the opener's frames; nil when none was taken.
    public var stack: UInt32?
    /// The frame that opened the connections: the innermost one outside the C library.
    public var opener: String?
    public var sockets: UInt64
    public var oldestAgeNanoseconds: UInt64
    public var ageIsLowerBound: Bool
    /// Sockets that joined / left the group in the last minute.
    public var newPerMinute: UInt64
    public var closedPerMinute: UInt64
    public var trend: LeakTrend
    /// The "other" group: sockets of groups beyond the bound, folded together by cause.
    public var folded: Bool

    public init() {
        time = WallTime(nanoseconds: 0)
        event = .appeared
        group = 0
        role = .client
        address = .v4(0)
        port = 0
        cause = .notClosed
        sockets = 0
        oldestAgeNanoseconds = 0
        ageIsLowerBound = false
        newPerMinute = 0
        closedPerMinute = 0
        trend = .steady
        folded = false
    }

    public static var type: StaticString { "leak" }
    public static var jsonPrefix: StaticString { "{\"type\":\"leak\",\"v\":" }
    public static var textTag: StaticString { "LEAK" }

    @inlinable @inline(__always)
    public static func fields<V: FieldVisitor>(_ r: inout LeakRecord, _ v: inout V) {
        v.field(
            "event", &r.event, Keyword<Event>.self, text: .column(9),
            "`appeared` / `changed` (size moved by a tenth, or trend changed) / `interval` (every minute, JSON only) / `resolved` (its last socket left CLOSE_WAIT) / `exit` (the run or the log ended)")
        v.field("sockets", &r.sockets, Integer<UInt64>.self, text: .labeled(" ", suffix: " sockets"), "lingerers in the group now")
        v.field("cause", &r.cause, Keyword<LeakCause>.self, text: .column(13), "`not_accepted`: still in a listener's accept queue, no file holds it / `unread`: Recv-Q > 0, the peer's data and FIN unread / `not_closed`: nothing to read, close() never called")
        v.field(
            "holder", &r.holder, Nullable<Object<Owner>>.self, text: .column(0, absent: "holder unknown"),
            "the process holding the sockets (for `not_accepted`: the listener's)")
        v.field("container", &r.container, Nullable<BareText>.self, text: .labeled(" container "), "the holder's container, when the cgroup names one")
        v.field("netns", &r.netns, Nullable<Integer<UInt32>>.self, text: .hidden, "network namespace inode")
        v.field("role", &r.role, Keyword<LeakRole>.self, text: .plain, "`server` (accepted from a listener) or `client` (connected out)")
        v.field("addr", &r.address, Address.self, text: .plain, "server: the listening address; client: the destination")
        v.field("port", &r.port, Integer<UInt16>.self, text: TextStyle(prefix: ":"), "server: the listening port; client: the destination port")
        v.field(
            "oldest_age_s", &r.oldestAgeNanoseconds, Seconds.self, text: .labeled(" oldest ", suffix: " s"),
            "seconds the group's oldest socket has been in CLOSE_WAIT")
        v.field(
            "age_is_lower_bound", &r.ageIsLowerBound, Boolean.self, text: .flag(" (at least)"),
            "the oldest was found by the start-up census: it has been there at least this long")
        v.field("new_per_min", &r.newPerMinute, Integer<UInt64>.self, text: .labeled(" +"), "sockets that joined the group in the last minute")
        v.field("closed_per_min", &r.closedPerMinute, Integer<UInt64>.self, text: .labeled(" -", suffix: "/min"), "sockets that left CLOSE_WAIT in the last minute")
        v.field("trend", &r.trend, Keyword<LeakTrend>.self, text: .plain, "over the last minute: `growing` (more joined than left), `steady`, `draining`")
        v.field("opener", &r.opener, Nullable<BareText>.self, text: .labeled(" opened at "), "the frame that opened the connections (`module!function+0xoff`): the innermost outside the C library")
        v.field("stack", &r.stack, Nullable<Integer<UInt32>>.self, text: .labeled(" stack "), "the id of the `stack` record with the opener's frames")
        v.field("group", &r.group, Integer<UInt32>.self, text: .hidden, "the group's number in this run")
        v.field("folded", &r.folded, Boolean.self, text: .flag(" (folded: more groups than kept)"), "sockets of groups beyond the bound, folded together by cause")
    }
}

/// The user stack of the code that opened a group's connections, written once per id before the
/// first `leak` record that names it.
public struct StackRecord: Hashable, Sendable, Record {
    public var time: WallTime
    public var id: UInt32
    /// The process it was taken in (addresses are resolved against its mappings).
    public var pid: UInt32
    /// Innermost first: `module!function+0xoff`, or `module+0xoff` without a symbol.
    public var frames: [String]
    /// The walk stopped at a frame without a frame pointer (or the depth limit): outer frames
    /// are missing.
    public var truncated: Bool

    public init() {
        time = WallTime(nanoseconds: 0)
        id = 0
        pid = 0
        frames = []
        truncated = false
    }

    public init(time: WallTime, id: UInt32, pid: UInt32, frames: [String], truncated: Bool) {
        self.time = time
        self.id = id
        self.pid = pid
        self.frames = frames
        self.truncated = truncated
    }

    public static var type: StaticString { "stack" }
    public static var jsonPrefix: StaticString { "{\"type\":\"stack\",\"v\":" }
    public static var textTag: StaticString { "STACK" }

    @inlinable @inline(__always)
    public static func fields<V: FieldVisitor>(_ r: inout StackRecord, _ v: inout V) {
        v.field("id", &r.id, Integer<UInt32>.self, text: .plain, "referenced by `leak` records' `stack`")
        v.field("pid", &r.pid, Integer<UInt32>.self, text: .labeled(" pid "), "the process the stack was taken in")
        v.field("frames", &r.frames, List<BareText>.self, text: .plain, "innermost first: `module!function+0xoff`, or `module+0xoff` when no symbol covers it")
        v.field("truncated", &r.truncated, Boolean.self, text: .flag(" (truncated)"), "the walk stopped early (a frame without a frame pointer): outer frames are missing")
    }
}

/// A string shown bare in text (a frame, a container name): JSON as `Text`, text without
/// quotes, control characters as `?`.
public enum BareText: StringField {
    public typealias Value = String
    @inlinable
    public static func text(_ s: String, _ c: inout ByteCursor) {
        for b in s.utf8 { c.byte(b < 0x20 || b == 0x7f ? UInt8(ascii: "?") : b) }
    }
}
