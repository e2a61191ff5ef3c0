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

/// Finds the network namespaces of this host: every `/proc/PID/ns/net` (deduplicated by
/// device and inode) and every `/run/netns` entry (`ip netns add`, which may hold no process).
public enum NetworkNamespaces {
    /// At most this many namespaces are tracked (a bound, not a limit hosts reach).
    public static let maxNamespaces = 4096

    /// The namespace of this process.
    public static func own(procRoot: String = "/proc") -> NetworkNamespace? {
        var st = stat()
        guard stat("\(procRoot)/self/ns/net", &st) == 0 else { return nil }
        return NetworkNamespace(inode: UInt32(truncatingIfNeeded: st.st_ino), path: "\(procRoot)/self/ns/net", isOwn: true)
    }

    /// Our own namespace first, then the others by inode. Named ones carry their name.
    public static func discover(procRoot: String = "/proc", runNetns: String = "/run/netns") -> [NetworkNamespace] {
        var found: [UInt32: NetworkNamespace] = [:]
        var device: UInt64?
        let mine = own(procRoot: procRoot)
        if let mine {
            found[mine.inode] = mine
            var st = stat()
            if stat(mine.path, &st) == 0 { device = UInt64(st.st_dev) }
        }
        // Named namespaces first, so that a named one keeps its name and a path that stays valid.
        if let dir = opendir(runNetns) {
            defer { closedir(dir) }
            while let ent = readdir(dir), found.count < maxNamespaces {
                let name = withUnsafeBytes(of: ent.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                var st = stat()
                let path = "\(runNetns)/\(name)"
                guard stat(path, &st) == 0, device == nil || UInt64(st.st_dev) == device else { continue }
                let inode = UInt32(truncatingIfNeeded: st.st_ino)
                if var known = found[inode] {
                    known.name = known.name ?? name
                    found[inode] = known
                } else {
                    found[inode] = NetworkNamespace(inode: inode, path: path, name: name)
                }
            }
        }
        if let proc = opendir(procRoot) {
            defer { closedir(proc) }
            while let ent = readdir(proc), found.count < maxNamespaces {
                let name = withUnsafeBytes(of: ent.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                guard let first = name.utf8.first, first >= 48 && first <= 57 else { continue }
                let path = "\(procRoot)/\(name)/ns/net"
                var st = stat()
                guard stat(path, &st) == 0, device == nil || UInt64(st.st_dev) == device else { continue }  // gone, or not ours to see
                let inode = UInt32(truncatingIfNeeded: st.st_ino)
                if found[inode] == nil { found[inode] = NetworkNamespace(inode: inode, path: path) }
            }
        }
        return found.values.sorted { ($0.isOwn ? 0 : 1, $0.inode) < ($1.isOwn ? 0 : 1, $1.inode) }
    }

    /// The namespace a `--netns` value names: an inode, a path (`/run/netns/x`,
    /// `/proc/PID/ns/net`), an `ip netns` name, or `host` (our own).
    public static func resolve(_ spec: String, among all: [NetworkNamespace]) -> NetworkNamespace? {
        if spec == "host" { return all.first { $0.isOwn } }
        if let inode = UInt32(spec) { return all.first { $0.inode == inode } }
        if let named = all.first(where: { $0.name == spec }) { return named }
        var st = stat()
        guard stat(spec, &st) == 0 else { return nil }
        let inode = UInt32(truncatingIfNeeded: st.st_ino)
        return all.first { $0.inode == inode } ?? NetworkNamespace(inode: inode, path: spec)
    }
}

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

/// sock_diag over every network namespace of the host (or the one the run is limited to): the
/// namespaces found at start and again at most every `rediscoverNanoseconds` when asked, each
/// dumped through its own reused socket. A namespace that vanished is skipped and forgotten.
public final class NamespaceDiag {
    public private(set) var namespaces: [NetworkNamespace]
    public let sockets = DiagSockets()
    /// Only this namespace (`--netns`), or every one.
    public let only: NetworkNamespace?
    private var discoveredAt: UInt64
    public static let rediscoverNanoseconds: UInt64 = 5_000_000_000

    public init(only: NetworkNamespace? = nil) {
        self.only = only
        namespaces = only.map { [$0] } ?? NetworkNamespaces.discover()
        discoveredAt = SystemClock.monotonicNanoseconds()
    }

    /// Finds namespaces made since (containers start), at most every 5 s.
    public func refresh() {
        guard only == nil else { return }
        let now = SystemClock.monotonicNanoseconds()
        guard now &- discoveredAt >= Self.rediscoverNanoseconds else { return }
        discoveredAt = now
        namespaces = NetworkNamespaces.discover()
        sockets.keep(only: namespaces)
    }

    /// Every socket in `states` of the namespaces in `netns` (nil: all), with its namespace.
    /// Fails only when no namespace could be dumped; returns the inodes of those that were.
    @discardableResult
    public func forEach(
        states: Set<TCPState>? = nil, netns: Set<UInt32>? = nil, _ body: (NetworkNamespace, SocketSnapshot) -> Void
    ) throws(SystemError) -> Set<UInt32> {
        var complete = Set<UInt32>()
        var firstError: SystemError?
        var dumped = 0
        for ns in namespaces where netns?.contains(ns.inode) ?? true {
            do {
                try SockDiag.forEach(states: states, in: ns, sockets: sockets) { body(ns, $0) }
                dumped += 1
                complete.insert(ns.inode)
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if dumped == 0, let firstError { throw firstError }
        return complete
    }
}
