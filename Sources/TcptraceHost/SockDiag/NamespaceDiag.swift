import CTcptraceHost
import Glibc
import TcptraceCore

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
