import CTcptraceHost
import Glibc
import TcptraceCore

/// One network namespace of this host, and a path that opens it.
public struct NetworkNamespace: Hashable, Sendable {
    /// The namespace's inode: what `stat -L /proc/PID/ns/net` prints, and what the kernel
    /// program reports per socket (`ns.inum`).
    public var inode: UInt32
    /// `/proc/PID/ns/net` of a process in it, or `/run/netns/NAME`.
    public var path: String
    /// The `ip netns` name, when it has one.
    public var name: String?
    /// The namespace this program runs in.
    public var isOwn: Bool

    public init(inode: UInt32, path: String, name: String? = nil, isOwn: Bool = false) {
        self.inode = inode
        self.path = path
        self.name = name
        self.isOwn = isOwn
    }
}
