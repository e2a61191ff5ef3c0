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
    /// The kernel skipped transitions of this socket before this one (or before the earlier
    /// ones of its batch): neither program ran for them. Not a field of the record: the
    /// connection record says it (`gap`).
    public var afterGap = false

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
