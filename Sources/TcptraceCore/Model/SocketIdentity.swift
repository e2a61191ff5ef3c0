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
