/// The process that owns a socket: the one that connected or listened (or, for an accepted
/// socket, its listener's), captured in process context by the kernel program.
public struct Owner: Hashable, Sendable {
    public var pid: UInt32
    public var comm: String
    public init(pid: UInt32, comm: String) {
        self.pid = pid
        self.comm = comm
    }
}

/// tcp_sock counters read by the kernel program when the socket reaches CLOSE.
public struct TCPCounters: Hashable, Sendable {
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
}

/// One TCP state change of one socket, as the kernel reported it.
public struct Transition: Hashable, Sendable {
    public var time: WallTime
    /// The socket cookie: unique for the boot, never reused; `ss -e` shows the same value.
    public var cookie: UInt64
    public var local: IPAddress
    public var localPort: UInt16
    public var remote: IPAddress
    public var remotePort: UInt16
    public var old: TCPState
    public var new: TCPState
    /// Nanoseconds spent in `old`; nil when the tracer never saw the socket enter it.
    public var nanosecondsInOld: UInt64?
    /// The task in context: often softirq (pid 0) or, on loopback, the peer.
    public var pid: UInt32
    public var comm: String
    public var owner: Owner?
    public var inode: UInt64?
    /// At ->CLOSE_WAIT and ->CLOSE: sequence space received but not read by the application
    /// (rcv_nxt - copied_seq): unread bytes, plus 1 when the peer's FIN has arrived.
    public var receiveQueue: UInt32?
    public var counters: TCPCounters?

    public init(
        time: WallTime, cookie: UInt64, local: IPAddress, localPort: UInt16, remote: IPAddress,
        remotePort: UInt16, old: TCPState, new: TCPState, nanosecondsInOld: UInt64?, pid: UInt32,
        comm: String, owner: Owner? = nil, inode: UInt64? = nil, receiveQueue: UInt32? = nil,
        counters: TCPCounters? = nil
    ) {
        self.time = time
        self.cookie = cookie
        self.local = local
        self.localPort = localPort
        self.remote = remote
        self.remotePort = remotePort
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

    public var family: AddressFamily { local.isUnspecified ? remote.family : local.family }
}
