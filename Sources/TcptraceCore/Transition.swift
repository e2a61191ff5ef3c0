/// Which socket a record is about: the cookie, both endpoints, and where the socket lives (its
/// network namespace and cgroup: which container). Every record with a socket carries one, and
/// writes it as the same eight fields.
public struct SocketIdentity: Hashable, Sendable, FieldGroup {
    /// The socket cookie: unique for the boot, never reused; `ss -e` shows the same value.
    public var cookie: UInt64
    public var local: IPAddress
    public var localPort: UInt16
    public var remote: IPAddress
    public var remotePort: UInt16
    /// The inode of the socket's network namespace, as `stat -L /proc/PID/ns/net` prints it;
    /// nil when unknown.
    public var netns: UInt32?
    /// The socket's cgroup v2 id, which is the inode of its cgroup directory: the cgroup of the
    /// process that created the socket (an accepted socket: its listener's); nil when unknown.
    public var cgroup: UInt64?
    /// What the cgroup's path says it is (container, pod, systemd unit), resolved in user space
    /// when the record is written; nil for the root cgroup or when not (yet) resolved.
    public var container: ContainerHandle?

    @inlinable
    public init(
        cookie: UInt64, local: IPAddress, localPort: UInt16, remote: IPAddress, remotePort: UInt16, netns: UInt32? = nil,
        cgroup: UInt64? = nil
    ) {
        self.cookie = cookie
        self.local = local
        self.localPort = localPort
        self.remote = remote
        self.remotePort = remotePort
        self.netns = netns
        self.cgroup = cgroup
    }

    public init() { self.init(cookie: 0, local: .v4(0), localPort: 0, remote: .v4(0), remotePort: 0) }

    /// IPv4-mapped sockets count as IPv4 (their addresses are normalized).
    @inlinable
    public var family: AddressFamily { local.isUnspecified ? remote.family : local.family }

    @inlinable @inline(__always)
    public static func fields<V: FieldVisitor>(_ r: inout SocketIdentity, _ v: inout V) {
        v.field(
            "cookie", &r.cookie, Integer<UInt64>.self, text: .column(9),
            "socket cookie: unique per socket for the boot, never reused; `ss -e` prints it in hex as `sk:`")
        var family = r.family  // derived: written, not read back
        v.field(
            "family", &family, Family.self, text: .hidden, required: false,
            "address family; IPv4-mapped IPv6 sockets report `\"ipv4\"` with plain IPv4 addresses")
        v.field("laddr", &r.local, Address.self, text: .plain, "local address (RFC 5952 text for IPv6)")
        v.field(
            "lport", &r.localPort, Integer<UInt16>.self, text: .port,
            "local port; `0` at a client's `CLOSE -> SYN_SENT` (the port is chosen later)")
        v.field("raddr", &r.remote, Address.self, text: .plain, "remote address")
        v.field("rport", &r.remotePort, Integer<UInt16>.self, text: .port, "remote port")
        v.field(
            "netns", &r.netns, Nullable<Integer<UInt32>>.self, text: .hidden,
            "network namespace inode, as `stat -L /proc/PID/ns/net` prints it (`stat -L -c %i`); `null` when unknown")
        v.field(
            "cgroup", &r.cgroup, Nullable<Integer<UInt64>>.self, text: .hidden,
            "cgroup v2 id of the socket = inode of its cgroup directory (`stat -c %i`): the cgroup of the process that created it (accepted sockets: their listener's), not of the task in context; `null` when unknown")
        v.field(
            "container", &r.container, Nullable<SharedContainerField>.self, text: .column(14),
            "the cgroup's path and what it says: container runtime and id, pod (uid, and namespace/name from the kubelet's `/var/log/pods`), or systemd unit; `null` for the root cgroup or when not resolved")
    }
}

extension TextStyle {
    /// `:port` after an address, the pair padded to one column.
    @inlinable public static var port: TextStyle { TextStyle(prefix: ":", width: 27, startsGroup: false) }
}

/// The process that owns a socket: the one that connected or listened (or, for an accepted
/// socket, its listener's), captured in process context by the kernel program; or, for a
/// lingerer, the process /proc shows holding it.
public struct Owner: Hashable, Sendable, FieldGroup {
    public var pid: UInt32
    public var comm: CommName
    public init(pid: UInt32, comm: CommName) {
        self.pid = pid
        self.comm = comm
    }
    public init() { self.init(pid: 0, comm: CommName()) }

    @inlinable @inline(__always)
    public static func fields<V: FieldVisitor>(_ r: inout Owner, _ v: inout V) {
        v.field("pid", &r.pid, Integer<UInt32>.self, text: .plain, "process id (tgid)")
        v.field("comm", &r.comm, Comm.self, text: TextStyle(prefix: " (", suffix: ")"), "command name")
    }
}

/// tcp_sock counters read by the kernel program when the socket reaches CLOSE.
public struct TCPCounters: Hashable, Sendable, FieldGroup {
    public var bytesAcked: UInt64
    public var bytesReceived: UInt64
    public var totalRetransmissions: UInt32
    public var smoothedRTTMicroseconds: UInt32
    public init(bytesAcked: UInt64, bytesReceived: UInt64, totalRetransmissions: UInt32, smoothedRTTMicroseconds: UInt32) {
        self.bytesAcked = bytesAcked
        self.bytesReceived = bytesReceived
        self.totalRetransmissions = totalRetransmissions
        self.smoothedRTTMicroseconds = smoothedRTTMicroseconds
    }
    public init() { self.init(bytesAcked: 0, bytesReceived: 0, totalRetransmissions: 0, smoothedRTTMicroseconds: 0) }

    @inlinable @inline(__always)
    public static func fields<V: FieldVisitor>(_ r: inout TCPCounters, _ v: inout V) {
        v.field(
            "bytes_acked", &r.bytesAcked, Integer<UInt64>.self, text: .labeled(" acked "),
            "bytes acknowledged by the peer (RFC 4898; SYN and FIN count one each)")
        v.field(
            "bytes_received", &r.bytesReceived, Integer<UInt64>.self, text: .labeled(" received "),
            "bytes received (RFC 4898; SYN and FIN count one each)")
        v.field(
            "retransmits", &r.totalRetransmissions, Integer<UInt32>.self, text: .labeled(" retransmits "),
            "total retransmissions")
        v.field("srtt_us", &r.smoothedRTTMicroseconds, Integer<UInt32>.self, text: .labeled(" srtt ", suffix: " us"), "smoothed RTT, µs")
    }
}

/// One TCP state change of one socket, as the kernel reported it.
public struct Transition: Hashable, Sendable, Record {
    public var time: WallTime
    public var identity: SocketIdentity
    public var old: TCPState
    public var new: TCPState
    /// Nanoseconds spent in `old`; nil when the tracer never saw the socket enter it.
    public var nanosecondsInOld: UInt64?
    /// The task in context: often softirq (pid 0) or, on loopback, the peer.
    public var pid: UInt32
    public var comm: CommName
    public var owner: Owner?
    public var inode: UInt64?
    /// At ->CLOSE_WAIT and ->CLOSE: sequence space received but not read by the application
    /// (rcv_nxt - copied_seq): unread bytes, plus 1 when the peer's FIN has arrived.
    public var receiveQueue: UInt32?
    public var counters: TCPCounters?

    @inlinable
    public init(
        time: WallTime, identity: SocketIdentity, old: TCPState, new: TCPState, nanosecondsInOld: UInt64?, pid: UInt32,
        comm: CommName, owner: Owner? = nil, inode: UInt64? = nil, receiveQueue: UInt32? = nil,
        counters: TCPCounters? = nil
    ) {
        self.time = time
        self.identity = identity
        self.old = old
        self.new = new
        self.nanosecondsInOld = nanosecondsInOld
        self.pid = pid
        self.comm = comm
        self.owner = owner
        self.inode = inode
        self.receiveQueue = receiveQueue
        self.counters = counters
    }

    public init() {
        self.init(
            time: WallTime(nanoseconds: 0), identity: SocketIdentity(), old: TCPState(rawValue: 0), new: TCPState(rawValue: 0),
            nanosecondsInOld: nil, pid: 0, comm: CommName())
    }

    public static var type: StaticString { "transition" }
    public static var jsonPrefix: StaticString { "{\"type\":\"transition\",\"v\":" }
    public static var textTag: StaticString { "" }

    @inlinable @inline(__always)
    public static func fields<V: FieldVisitor>(_ r: inout Transition, _ v: inout V) {
        v.group(&r.identity)
        v.field(
            "old", &r.old, StateName.self, text: TextStyle(width: 13),
            "the state left, as the kernel spells it: `ESTABLISHED`, `SYN_SENT`, `SYN_RECV`, `FIN_WAIT1`, `FIN_WAIT2`, `TIME_WAIT`, `CLOSE`, `CLOSE_WAIT`, `LAST_ACK`, `LISTEN`, `CLOSING`, `NEW_SYN_RECV`, `BOUND_INACTIVE`; an unknown number is `UNKNOWN_<n>`")
        v.field("new", &r.new, StateName.self, text: TextStyle(prefix: " -> ", width: 16), "the state entered")
        v.field(
            "ms_in_old", &r.nanosecondsInOld, Nullable<Milliseconds>.self, text: .column(11),
            "milliseconds (µs precision) spent in `old`; `null` when the tracer did not see the socket enter it")
        v.field(
            "pid", &r.pid, Integer<UInt32>.self, text: .hidden, required: false,
            "the task running when the transition happened (often pid 0 in softirq, or on loopback the peer)")
        v.field("comm", &r.comm, Comm.self, text: .hidden, required: false, "that task's command name")
        v.field(
            "owner", &r.owner, Nullable<Object<Owner>>.self, text: .column(0),
            "the process that connected or listened (accepted sockets: their listener's), or that closed the socket; `null` when unknown")
        v.field(
            "inode", &r.inode, Nullable<Integer<UInt64>>.self, text: .hidden,
            "the socket's inode, as in `/proc/PID/fd/N -> socket:[inode]`; `null` before the socket has a file (e.g. not yet accepted)")
        v.field(
            "rcv_queue", &r.receiveQueue, Nullable<Integer<UInt32>>.self, text: .hidden,
            "at `-> CLOSE_WAIT` and `-> CLOSE` only: sequence space received but not read (`rcv_nxt - copied_seq`), i.e. unread bytes plus 1 once the peer's FIN has arrived. At `FIN_WAIT2 -> CLOSE`, ≥ 1 means the peer's FIN came (TIME_WAIT); 0 means an orphaned FIN_WAIT2 handed to a timewait socket for `tcp_fin_timeout`")
        v.field(
            "tcp", &r.counters, Nullable<Object<TCPCounters>>.self, text: .hidden,
            "at `-> CLOSE` only: the kernel's counters for the connection")
    }

    public var family: AddressFamily { identity.family }
}

/// A process's command name (the kernel's `comm`, TASK_COMM_LEN = 16 bytes) as UTF-8 text in
/// fixed inline storage: a plain value, so transitions, owners and table entries copy without
/// reference counting, and the text is only looked at when a line is formatted.
///
/// Holds up to `capacity` bytes: a 16-byte kernel field repaired to valid UTF-8 (an invalid
/// byte becomes U+FFFD, 3 bytes) always fits. Longer text (never from the kernel; e.g. a
/// hand-edited log) is cut at a character boundary, and text ends at a NUL, as in the kernel.
public struct CommName: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public static let capacity = 48
    /// UTF-8, zero-padded.
    @usableFromInline var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
    /// Bytes of text in `words`.
    @usableFromInline var length: UInt8 = 0

    public init() {}

    public init(_ text: String) {
        var utf8 = Array(text.utf8.prefix(while: { $0 != 0 }))
        if utf8.count > Self.capacity {
            var n = Self.capacity
            while n > 0 && utf8[n] & 0xC0 == 0x80 { n -= 1 }  // not inside a multi-byte character
            utf8.removeSubrange(n...)
        }
        withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: utf8) }
        length = UInt8(utf8.count)
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// From a kernel comm field: 16 bytes, NUL-terminated unless full. ASCII (the usual case)
    /// is taken as is, word by word; anything else is repaired as `String(decoding:as:)` does.
    @inlinable
    public init(kernel field: (CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar)) {
        let raw = unsafeBitCast(field, to: (UInt64, UInt64).self)
        var a = UInt64(littleEndian: raw.0), b = UInt64(littleEndian: raw.1)
        // The first NUL ends the text: keep the bytes before it (byte i is bits 8i..8i+7).
        let n = Self.firstZeroByte(a, b)
        if n < 8 {
            a &= n == 0 ? 0 : ~UInt64(0) >> UInt64(64 - 8 * n)
            b = 0
        } else if n < 16 {
            b &= n == 8 ? 0 : ~UInt64(0) >> UInt64(128 - 8 * n)
        }
        if (a | b) & 0x8080_8080_8080_8080 == 0 {
            words.0 = a.littleEndian
            words.1 = b.littleEndian
            length = UInt8(truncatingIfNeeded: n)
        } else {
            self = withUnsafeBytes(of: field) { CommName(String(decoding: $0[..<n], as: UTF8.self)) }
        }
    }

    /// Index of the first zero byte of the 16 bytes `a` (0-7) and `b` (8-15), or 16.
    @inlinable
    static func firstZeroByte(_ a: UInt64, _ b: UInt64) -> Int {
        let low: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        // The lowest flagged byte is exactly the first zero byte (borrows only run upward).
        let za = (a &- low) & ~a & high
        if za != 0 { return za.trailingZeroBitCount >> 3 }
        let zb = (b &- low) & ~b & high
        return zb != 0 ? 8 + zb.trailingZeroBitCount >> 3 : 16
    }

    public var count: Int { Int(length) }
    public var isEmpty: Bool { length == 0 }

    /// The UTF-8 text.
    @inlinable
    public func withUTF8<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: words) { try body(UnsafeRawBufferPointer(rebasing: $0[..<Int(length)])) }
    }

    public var description: String { withUTF8 { String(decoding: $0, as: UTF8.self) } }

    public static func == (a: CommName, b: CommName) -> Bool {
        a.length == b.length && a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2
            && a.words.3 == b.words.3 && a.words.4 == b.words.4 && a.words.5 == b.words.5
    }

    public func hash(into h: inout Hasher) {
        withUTF8 { h.combine(bytes: $0) }
    }
}

/// Consecutive transitions of one socket in one piece, as the kernel program sends them when it
/// aggregates (bpf/tcptrace.h, struct tcptrace_batch): the last one complete, the earlier ones
/// as what changes from one to the next (states, time, duration). Every transition of the batch
/// has the last one's identity, owner and inode (the latest known values, which is what the
/// connection table keeps of them anyway); only the last carries the receive queue and counters,
/// and the earlier ones do not say the task in context (pid 0, empty comm).
public struct TransitionBatch: Sendable {
    public struct Step: Sendable {
        public var old: TCPState
        public var new: TCPState
        public var time: WallTime
        public var nanosecondsInOld: UInt64?
        public init(old: TCPState, new: TCPState, time: WallTime, nanosecondsInOld: UInt64?) {
            self.old = old
            self.new = new
            self.time = time
            self.nanosecondsInOld = nanosecondsInOld
        }
    }

    /// Most earlier transitions a batch holds.
    public static let maxEarlier = 7
    public var last: Transition
    private var steps: (Step, Step, Step, Step, Step, Step, Step)
    public private(set) var earlierCount = 0

    public init(last: Transition) {
        self.last = last
        let none = Step(old: TCPState(rawValue: 0), new: TCPState(rawValue: 0), time: WallTime(nanoseconds: 0), nanosecondsInOld: nil)
        steps = (none, none, none, none, none, none, none)
    }

    /// Transitions in the batch, the last included.
    public var count: Int { earlierCount + 1 }

    /// Adds an earlier transition after those added before (false when full).
    @discardableResult
    public mutating func appendEarlier(_ step: Step) -> Bool {
        switch earlierCount {
        case 0: steps.0 = step
        case 1: steps.1 = step
        case 2: steps.2 = step
        case 3: steps.3 = step
        case 4: steps.4 = step
        case 5: steps.5 = step
        case 6: steps.6 = step
        default: return false
        }
        earlierCount += 1
        return true
    }

    /// Earlier transition `i` (0 is the oldest). By element: the tuple is not copied whole.
    @inline(__always)
    public func earlier(_ i: Int) -> Step {
        precondition(i >= 0 && i < earlierCount)
        switch i {
        case 0: return steps.0
        case 1: return steps.1
        case 2: return steps.2
        case 3: return steps.3
        case 4: return steps.4
        case 5: return steps.5
        default: return steps.6
        }
    }

    /// Makes `t`, a transition of this batch (or `last` itself), transition `i` (0 is the
    /// oldest, `count - 1` the last) by changing only the fields that differ between them.
    @inline(__always)
    public func load(_ i: Int, into t: inout Transition) {
        if i < earlierCount {
            let s = earlier(i)
            t.time = s.time
            t.old = s.old
            t.new = s.new
            t.nanosecondsInOld = s.nanosecondsInOld
            t.pid = 0
            t.comm = CommName()
            t.receiveQueue = nil
            t.counters = nil
        } else {
            t.time = last.time
            t.old = last.old
            t.new = last.new
            t.nanosecondsInOld = last.nanosecondsInOld
            t.pid = last.pid
            t.comm = last.comm
            t.receiveQueue = last.receiveQueue
            t.counters = last.counters
        }
    }

    /// Every transition, oldest first.
    public var transitions: [Transition] {
        var t = last
        return (0..<count).map { i in
            load(i, into: &t)
            return t
        }
    }
}
