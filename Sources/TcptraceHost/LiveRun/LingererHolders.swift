import TcptraceCore

/// The process and fd holding each CLOSE_WAIT lingerer, found the way `ss -p` finds them, and
/// remembered so the lingerer's `closed` record names the same process.
public final class LingererHolders {
    /// Shared with the start-up census, whose /proc scan fills the same cache.
    public let sockets: SocketHolders
    /// Bound on remembered holders, like the table's: lingerers evicted from the table never
    /// send their `closed`.
    let limit: Int
    private var reported: [UInt64: LingererRecord.Holder] = [:]
    /// Of the lingerers the last `resolve` looked at, those no file holds (sock_diag inode 0):
    /// still in a listener's accept queue.
    public private(set) var unaccepted: Set<UInt64> = []

    public init(sockets: SocketHolders = SocketHolders(), limit: Int) {
        self.sockets = sockets
        self.limit = limit
    }

    /// Fills in what the table cannot know about lingerers just due: from sock_diag, the inode
    /// of sockets accepted after they entered CLOSE_WAIT (the kernel program saw no file then)
    /// and the unread bytes now; from /proc (one cached scan), the holder. Remembers each holder.
    /// Only the lingerers' own namespaces are dumped, and only their processes looked at.
    /// Returns the cookies of those the dump shows are no longer in CLOSE_WAIT (their namespace
    /// was dumped and they were not in it): with aggregated kernel records, a socket's exit from
    /// CLOSE_WAIT arrives only with its CLOSE, so the table cannot know yet.
    @discardableResult
    public func resolve(_ due: inout [LingererRecord], namespaces: NamespaceDiag) -> Set<UInt64> {
        unaccepted = []
        guard !due.isEmpty else { return [] }
        var current: [UInt64: SocketSnapshot] = [:]
        let cookies = Set(due.map(\.identity.cookie))
        // A lingerer whose namespace the kernel did not say (seeded, or an old kernel): all.
        let netns: Set<UInt32>? = due.contains { $0.identity.netns == nil } ? nil : Set(due.compactMap(\.identity.netns))
        if let netns, netns.contains(where: { n in !namespaces.namespaces.contains { $0.inode == n } }) { namespaces.refresh() }
        let dumped = (try? namespaces.forEach(states: [.closeWait], netns: netns) { _, s in
            if cookies.contains(s.cookie) { current[s.cookie] = s }
        }) ?? []
        let left = Set(due.lazy.filter { l in l.identity.netns.map(dumped.contains) == true && current[l.identity.cookie] == nil }.map(\.identity.cookie))
        unaccepted = Set(current.values.lazy.filter { $0.inode == 0 }.map(\.cookie))
        for i in due.indices {
            guard let s = current[due[i].identity.cookie] else { continue }
            if s.inode != 0 { due[i].inode = s.inode }
            due[i].unreadBytes = s.unreadBytesBeforeFIN
        }
        let found = sockets.holders(of: Set(due.compactMap(\.inode)), netns: netns)
        for i in due.indices {
            if let inode = due[i].inode, let h = found[inode] { due[i].holder = h }
            if let h = due[i].holder {
                if reported.count >= limit { reported.removeAll(keepingCapacity: true) }
                reported[due[i].identity.cookie] = h
            }
        }
        return left
    }

    /// The holder reported for lingerer `cookie`, which has now left CLOSE_WAIT (forgotten here).
    public func takeHolder(ofClosed cookie: UInt64) -> LingererRecord.Holder? {
        reported.removeValue(forKey: cookie)
    }
}
