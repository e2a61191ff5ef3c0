import CTcptraceHost
import Glibc
import TcptraceCore

/// One sock_diag socket per network namespace, created inside it once and reused for every
/// dump there (the census, start-up seeding, lingerer enrichment, reconciliation).
public final class DiagSockets {
    final class Entry {
        let socket: FileDescriptor
        init(_ socket: consuming FileDescriptor) { self.socket = socket }
    }
    private var sockets: [UInt32: Entry] = [:]

    public init() {}

    public var count: Int { sockets.count }

    /// The namespace's diag socket, created on first use.
    func socket(in ns: NetworkNamespace) throws(SystemError) -> Int32 {
        if let e = sockets[ns.inode] { return e.socket.raw }
        let fd: Int32
        if ns.isOwn {
            fd = try SockDiag.openSocket().release()
        } else {
            fd = tcptrace_socket_in_netns(ns.path, AF_NETLINK, Int32(SOCK_DGRAM.rawValue), NETLINK_SOCK_DIAG)
            if fd < 0 {
                throw -fd == EPERM
                    ? .notPermitted("entering network namespace \(ns.inode) (\(ns.path)) needs CAP_SYS_ADMIN")
                    : .call("sock_diag socket in network namespace \(ns.inode) (\(ns.path))", errno: -fd)
            }
        }
        if sockets.count >= NetworkNamespaces.maxNamespaces { sockets.removeAll() }
        sockets[ns.inode] = Entry(FileDescriptor(adopting: fd))
        return fd
    }

    /// Closes the namespace's socket (after a failed dump: the next one starts clean).
    func discard(_ ns: NetworkNamespace) { sockets[ns.inode] = nil }

    /// Closes the sockets of namespaces that are gone.
    public func keep(only alive: [NetworkNamespace]) {
        let inodes = Set(alive.map(\.inode))
        for key in sockets.keys where !inodes.contains(key) { sockets[key] = nil }
    }
}
