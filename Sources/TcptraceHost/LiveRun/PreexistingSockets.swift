import TcptraceCore

/// Sockets that existed before the tracer (the tracepoint fires only when a socket changes
/// state, so it cannot see them until they move) enter the table from a sock_diag census, so their later transitions have
/// identity and owner, and a CLOSE_WAIT leak from yesterday is found (age: a lower bound).
public enum PreexistingSockets {
    /// TIME_WAIT and request sockets are not full sockets: they never fire the tracepoint.
    static let seededStates = Set((1...11).map { TCPState(rawValue: UInt8($0)) }).subtracting([.timeWait, .synRecv])

    /// Seeds `table` with at most `limit` sockets matching `filter`, as of `now`. Owners come
    /// from /proc through `holders` (whose cache later lingerer checks reuse). Throws when the
    /// dump fails; the table is then unchanged.
    public static func seed(
        _ table: inout ConnectionTable, filter: TraceFilter, limit: Int, holders: SocketHolders, namespaces: NamespaceDiag,
        now: WallTime
    ) throws(SystemError) {
        var sockets: [(netns: UInt32, socket: SocketSnapshot)] = []
        // Owners and cgroups are not known yet: the dump is filtered by address, the rest comes after.
        var addressOnly = filter
        addressOnly.ownerPID = nil
        addressOnly.ownerComm = nil
        addressOnly.netns = nil
        addressOnly.cgroupSubtree = nil
        // Every namespace the run covers (containers' sockets are in theirs).
        try namespaces.forEach(states: seededStates, netns: filter.netns.map { [$0] }) { ns, s in
            if addressOnly.matches(family: s.family, localPort: s.localPort, remotePort: s.remotePort, owner: nil) {
                sockets.append((ns.inode, s))
            }
        }
        // Owners from /proc for the sockets that matter: listeners (their accepted sockets
        // inherit the owner) and CLOSE_WAIT (lingerers). One scan.
        var wanted = Set<UInt64>()
        for (_, s) in sockets where (s.state == .listen || s.state == .closeWait) && s.inode != 0 { wanted.insert(s.inode) }
        let found = wanted.isEmpty ? [:] : holders.holders(of: wanted)
        for (netns, s) in sockets.prefix(limit) {
            let owner = found[s.inode]?.process
            // The kernel never said these sockets' cgroup: their holder's is it (when known).
            let cgroup = filter.cgroupSubtree == nil ? nil : found[s.inode].flatMap { CgroupV2.cgroup(ofProcess: $0.process.pid) }
            guard
                filter.matches(
                    family: s.family, localPort: s.localPort, remotePort: s.remotePort, owner: owner, netns: netns,
                    cgroup: cgroup?.id, cgroupIsBelow: { _ in cgroup?.ancestors.contains(filter.cgroupSubtree?.id ?? 0) ?? false })
            else { continue }
            var identity = s.identity(netns: netns)
            identity.cgroup = cgroup?.id
            table.seed(
                identity, state: s.state, inode: s.inode == 0 ? nil : s.inode, owner: owner,
                unreadBytes: s.state == .closeWait ? s.unreadBytesBeforeFIN : nil, now: now)
        }
    }
}

extension SocketSnapshot {
    /// In CLOSE_WAIT the receive queue counts the peer's FIN as one byte: the data unread is the rest.
    var unreadBytesBeforeFIN: UInt64 { UInt64(receiveQueue > 0 ? receiveQueue - 1 : 0) }
}
