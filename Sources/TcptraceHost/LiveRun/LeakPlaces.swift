import TcptraceCore

/// Where each lingerer's leak is, for grouping: server or client, the listening address or the
/// destination, the cause, and for a child never accepted the listener's holder.
public struct LeakPlace: Hashable, Sendable {
    public var role: LeakRole
    public var address: IPAddress
    public var port: UInt16
    public var cause: LeakCause
    /// The process holding the listener (the holder of a `not_accepted` socket).
    public var listenerHolder: Owner?
}

extension LingererHolders {
    /// The places of lingerers `resolve` just looked at: one sock_diag dump of the listeners
    /// in their namespaces tells server sockets (a listener on their local port) from clients.
    public func places(of due: [LingererRecord], namespaces: NamespaceDiag) -> [UInt64: LeakPlace] {
        guard !due.isEmpty else { return [:] }
        struct Listener {
            var netns: UInt32
            var address: IPAddress
            var inode: UInt64
        }
        var listeners: [UInt16: [Listener]] = [:]
        let netns: Set<UInt32>? = due.contains { $0.identity.netns == nil } ? nil : Set(due.compactMap(\.identity.netns))
        _ = try? namespaces.forEach(states: [.listen], netns: netns) { ns, s in
            listeners[s.localPort, default: []].append(Listener(netns: ns.inode, address: s.local, inode: s.inode))
        }
        var listenerOf: [UInt64: Listener] = [:]
        for l in due {
            let id = l.identity
            // The listener bound to this address, else a wildcard one, in the same namespace.
            let candidates = (listeners[id.localPort] ?? []).filter { id.netns == nil || $0.netns == id.netns }
            if let match = candidates.first(where: { $0.address == id.local }) ?? candidates.first(where: { $0.address.isUnspecified }) {
                listenerOf[id.cookie] = match
            }
        }
        let holders = sockets.holders(of: Set(listenerOf.values.lazy.filter { $0.inode != 0 }.map(\.inode)), netns: netns)
        var out: [UInt64: LeakPlace] = [:]
        for l in due {
            let id = l.identity
            let cause: LeakCause =
                unaccepted.contains(id.cookie) ? .notAccepted : LeakCause(inode: 1, unreadBytes: l.unreadBytes ?? 0)
            if let listener = listenerOf[id.cookie] {
                out[id.cookie] = LeakPlace(
                    role: .server, address: listener.address, port: id.localPort, cause: cause,
                    listenerHolder: holders[listener.inode]?.process)
            } else {
                out[id.cookie] = LeakPlace(role: .client, address: id.remote, port: id.remotePort, cause: cause, listenerHolder: nil)
            }
        }
        return out
    }
}
