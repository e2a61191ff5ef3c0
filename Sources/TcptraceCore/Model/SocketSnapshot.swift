/// One TCP socket as a sock_diag dump reports it (struct inet_diag_msg), at one instant.
public struct SocketSnapshot: Hashable, Sendable {
    /// idiag_cookie[0] | idiag_cookie[1] << 32: the socket cookie, as the tracer keys sockets.
    public var cookie: UInt64
    public var state: TCPState
    public var local: IPAddress
    public var localPort: UInt16
    public var remote: IPAddress
    public var remotePort: UInt16
    /// 0 for sockets without a file: TIME_WAIT, request sockets (SYN_RECV), orphans.
    public var inode: UInt64
    public var uid: UInt32
    /// Bytes received and not read (LISTEN: the accept queue length).
    public var receiveQueue: UInt32
    /// Bytes not yet acknowledged by the peer (LISTEN: the accept queue limit).
    public var sendQueue: UInt32

    public init(
        cookie: UInt64, state: TCPState, local: IPAddress, localPort: UInt16, remote: IPAddress,
        remotePort: UInt16, inode: UInt64 = 0, uid: UInt32 = 0, receiveQueue: UInt32 = 0, sendQueue: UInt32 = 0
    ) {
        self.cookie = cookie
        self.state = state
        self.local = local
        self.localPort = localPort
        self.remote = remote
        self.remotePort = remotePort
        self.inode = inode
        self.uid = uid
        self.receiveQueue = receiveQueue
        self.sendQueue = sendQueue
    }

    /// The socket as records name it.
    public var identity: SocketIdentity {
        SocketIdentity(cookie: cookie, local: local, localPort: localPort, remote: remote, remotePort: remotePort)
    }

    /// The same, in network namespace `netns` (a dump is per namespace).
    public func identity(netns: UInt32?) -> SocketIdentity {
        var i = identity
        i.netns = netns
        return i
    }

    /// IPv4-mapped IPv6 sockets count as IPv4, as in `Transition`.
    public var family: AddressFamily { local.isUnspecified ? remote.family : local.family }
}
