import TcptraceCore

/// A census taken now: one sock_diag dump per network namespace, counted as it arrives.
public enum CensusSource {
    /// Dumps the families the filter asks for (IPv4-mapped sockets live in the IPv6 table) in
    /// our own namespace.
    public static func take(filter: CensusFilter, top: Int = Census.defaultTop) throws(SystemError) -> Census {
        let own = NetworkNamespaces.own() ?? NetworkNamespace(inode: 0, path: "/proc/self/ns/net", isOwn: true)
        return try take(filter: filter, top: top, in: own, sockets: DiagSockets())
    }

    /// One namespace, through its reused diag socket; ports and port range are that namespace's.
    public static func take(
        filter: CensusFilter, top: Int = Census.defaultTop, in ns: NetworkNamespace, sockets: DiagSockets
    ) throws(SystemError) -> Census {
        let families: [AddressFamily] = filter.family == .ipv6 ? [.ipv6] : [.ipv4, .ipv6]
        var tally = Census.Tally(filter: filter, portRange: Sysctl.localPortRange(in: ns))
        try SockDiag.forEach(families: families, in: ns, sockets: sockets) { tally.add($0) }
        var c = tally.census(time: SystemClock.wallNow(), top: top)
        c.netns = ns.inode
        c.ports = NamespacePortsReader.read(in: ns)
        c.netnsName = ns.name ?? (ns.isOwn ? "host" : nil)
        return c
    }

    /// Every namespace (or the given ones), each on its own; a namespace that vanished while
    /// it was counted is left out. Fails only when none could be counted.
    public static func takeAll(
        filter: CensusFilter, top: Int = Census.defaultTop, namespaces: [NetworkNamespace], sockets: DiagSockets
    ) throws(SystemError) -> [Census] {
        var out: [Census] = []
        var firstError: SystemError?
        for ns in namespaces {
            do {
                out.append(try take(filter: filter, top: top, in: ns, sockets: sockets))
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if out.isEmpty, let firstError { throw firstError }
        sockets.keep(only: namespaces)
        return out
    }
}
