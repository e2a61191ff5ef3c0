/// Every open connection the tracer knows, keyed by socket cookie, fed with transitions (live
/// or replayed) and, at start, with the sockets a census found. Pure: its clock is the `now`
/// its caller passes. Bounded: past `capacity` entries the least recently active are evicted
/// (counted), CLOSE_WAIT sockets last.
public struct ConnectionTable: Sendable {
    struct Entry: Sendable {
        var identity: SocketIdentity
        var state: TCPState
        var role: ConnectionRecord.Role
        var owner: Owner?
        var inode: UInt64?
        /// When the connection began (its first transition out of CLOSE); nil if not seen.
        var born: WallTime?
        var spans: [ConnectionRecord.Span] = []
        var connectNanoseconds: UInt64?
        var closedBy: ConnectionRecord.Closer?
        var ourFINAcked = false
        var peerFIN = false
        var lastActivity: WallTime
        /// When it entered CLOSE_WAIT (for seeded sockets: when the tracer started).
        var closeWaitSince: WallTime?
        var closeWaitIsLowerBound = false
        var lingererReported = false
        var unreadBytes: UInt64?
        var partial: Bool
        /// Transitions of it reached neither kernel program (`Transition.afterGap`).
        var gap = false
    }

    public let capacity: Int
    /// Time in CLOSE_WAIT after which a socket is a lingerer.
    public let lingerThresholdNanoseconds: UInt64
    var entries = EntryStore()
    /// Sockets in CLOSE_WAIT not yet reported, and since when (removed when they leave it).
    var closeWaitPending = CookieMap<WallTime>()
    /// The same, in the order they entered CLOSE_WAIT: the check looks only at the head, so it
    /// costs what crosses the threshold, not the table. Items whose socket left are skipped,
    /// and the queue is rebuilt from `closeWaitPending` when they pile up: memory stays
    /// proportional to the sockets in CLOSE_WAIT, however many pass through it.
    var closeWaitQueue: [(since: WallTime, cookie: UInt64)] = []
    var closeWaitHead = 0
    public private(set) var evictions: UInt64 = 0
    /// The owner of each listening port, or nil when several processes listen on it
    /// (SO_REUSEPORT): accepted sockets get their listener's owner only when unambiguous.
    var listenerOwners: [UInt16: Owner?] = [:]

    public init(capacity: Int = 100_000, lingerThresholdNanoseconds: UInt64 = 30_000_000_000) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.lingerThresholdNanoseconds = lingerThresholdNanoseconds
    }

    public var count: Int { entries.count }

    /// The owner known for a socket, from the kernel or from seeding.
    public func owner(of cookie: UInt64) -> Owner? { entries.slot(of: cookie).flatMap { entries[slot: $0].owner } }

    /// The state a socket is in, as the table knows it; nil when it holds no entry for it.
    public func state(of cookie: UInt64) -> TCPState? { entries.slot(of: cookie).map { entries[slot: $0].state } }

    /// What happened when a transition was applied.
    ///
    /// The records live in place with a flag each, not as optionals: the live path keeps one
    /// `Outcome` for the run and `reset`s it per event, where a fresh one (two ~230-byte nil
    /// optionals written) and each `if let` of its records (a copy) cost four `memcpy` calls an
    /// event.
    public struct Outcome: Sendable {
        public init() {}
        /// The record of the connection that reached CLOSE, while `hasConnection`.
        public var closedConnection = ConnectionRecord()
        public internal(set) var hasConnection = false
        /// The record of a reported lingerer that left CLOSE_WAIT, while `hasLingererClosed`.
        public var closedLingerer = LingererRecord()
        public internal(set) var hasLingererClosed = false
        /// The socket's owner as the table knows it (kernel, inherited from its listener, or /proc).
        public var owner: Owner?

        /// The connection reached CLOSE: its record.
        public var connection: ConnectionRecord? {
            get { hasConnection ? closedConnection : nil }
            set {
                if let newValue { closedConnection = newValue }
                hasConnection = newValue != nil
            }
        }

        /// A reported lingerer left CLOSE_WAIT.
        public var lingererClosed: LingererRecord? {
            get { hasLingererClosed ? closedLingerer : nil }
            set {
                if let newValue { closedLingerer = newValue }
                hasLingererClosed = newValue != nil
            }
        }

        /// As a fresh `Outcome()` (the records' storage is kept for the next ones).
        @inline(__always)
        public mutating func reset() {
            hasConnection = false
            hasLingererClosed = false
            owner = nil
        }

        @inline(__always)
        mutating func setConnection(_ r: consuming ConnectionRecord) {
            closedConnection = r
            hasConnection = true
        }
    }

    /// A socket that existed before tracing began (from a sock_diag census at `now`).
    public mutating func seed(
        _ identity: SocketIdentity, state: TCPState, inode: UInt64?, owner: Owner?, unreadBytes: UInt64?, now: WallTime
    ) {
        let cookie = identity.cookie
        guard entries.slot(of: cookie) == nil else { return }
        makeRoom(now: now)
        var e = Entry(
            identity: identity, state: state,
            role: state == .listen ? .listener : .unknown, owner: owner, inode: inode, born: nil,
            lastActivity: now, partial: true)
        e.unreadBytes = unreadBytes
        if state == .listen { noteListener(port: identity.localPort, owner: owner) }
        if state == .closeWait {
            e.closeWaitSince = now
            e.closeWaitIsLowerBound = true
            e.closedBy = .remote
            e.peerFIN = true
            enqueueCloseWait(cookie, since: now)
        }
        entries.insert(e, for: cookie)
    }

    public mutating func apply(_ t: Transition) -> Outcome {
        var outcome = Outcome()
        apply(t, into: &outcome)
        return outcome
    }

    /// `apply` writing into `outcome`, a fresh `Outcome()` of the caller's (the live path): a
    /// returned outcome, records and all, would be copied on every event.
    public mutating func apply(_ t: Transition, into outcome: inout Outcome) {
        let closing = t.new == .close && t.old != .close
        if let i = entries.slot(of: t.identity.cookie) {
            apply(t, slot: i, into: &outcome)
            return
        }
        let e = startEntry(t, outcome: &outcome)
        outcome.owner = e.owner
        if closing {
            outcome.setConnection(Self.record(e, closing: t))
        } else {
            entries.insert(consume e, for: t.identity.cookie)
        }
    }

    /// `t` applied to the entry in slot `i`, changed in place (no copy of the entry out and
    /// back; port and owner are read within the same access); at CLOSE, its record is written
    /// and the entry removed.
    @inline(__always)
    mutating func apply(_ t: Transition, slot i: Int, into outcome: inout Outcome) {
        let (entered, port, owner) = Self.stepReading(&entries[slot: i], t, outcome: &outcome)
        book(t, localPort: port, owner: owner, isNew: false, enteredCloseWait: entered)
        outcome.owner = owner
        if t.new == .close && t.old != .close {
            // The timeline moves into the record (no retain here and release at the removal).
            let spans = entries.takeSpans(slot: i)
            outcome.setConnection(Self.record(entries[slot: i], spans: spans, closing: t))
            entries.remove(slot: i, cookie: t.identity.cookie)
        }
    }

    /// The entry of a socket the table does not know, `t` applied: made, not inserted.
    mutating func startEntry(_ t: Transition, outcome: inout Outcome) -> Entry {
        makeRoom(now: t.time)
        let birth = t.old == .close || (t.old == .listen && t.new == .synRecv)
        let role: ConnectionRecord.Role =
            t.new == .synSent ? .client : t.new == .synRecv ? .server : t.new == .listen || t.old == .listen ? .listener : .unknown
        var e = Entry(
            identity: t.identity, state: t.old,
            role: role, owner: nil, inode: nil, born: birth ? t.time : nil, lastActivity: t.time, partial: !birth)
        // A connection's states fit in one allocation (a client or server makes 5 transitions).
        e.spans.reserveCapacity(6)
        let entered = Self.step(&e, t, isNew: true, outcome: &outcome)
        if e.owner == nil && e.role == .server, let inherited = listenerOwners[e.identity.localPort] {
            e.owner = inherited  // a listener from before the tracer started: its owner came from /proc
        }
        book(t, localPort: e.identity.localPort, owner: e.owner, isNew: true, enteredCloseWait: entered)
        return consume e
    }

    /// `step` on an existing entry, returning also its local port and owner after the step.
    @inline(__always)
    static func stepReading(_ e: inout Entry, _ t: Transition, outcome: inout Outcome) -> (Bool, UInt16, Owner?) {
        let entered = step(&e, t, isNew: false, outcome: &outcome)
        return (entered, e.identity.localPort, e.owner)
    }

    /// Applies `t` to its entry; returns true when the socket entered CLOSE_WAIT.
    @inline(__always)
    static func step(_ e: inout Entry, _ t: Transition, isNew: Bool, outcome: inout Outcome) -> Bool {
        // Endpoints: the local port appears after CLOSE -> SYN_SENT; at some CLOSEs fields are gone.
        if t.identity.localPort != 0 { e.identity.localPort = t.identity.localPort }
        if !t.identity.local.isUnspecified { e.identity.local = t.identity.local }
        if t.identity.remotePort != 0 { e.identity.remotePort = t.identity.remotePort }
        if !t.identity.remote.isUnspecified { e.identity.remote = t.identity.remote }
        if let n = t.identity.netns { e.identity.netns = n }  // unknown for sockets seeded from a census
        if let c = t.identity.cgroup { e.identity.cgroup = c }
        if let o = t.owner { e.owner = o }
        if let i = t.inode { e.inode = i }
        if t.afterGap { e.gap = true }
        e.lastActivity = t.time

        let bornNow = isNew && e.born != nil
        if !bornNow { e.spans.append(.init(state: t.old, nanoseconds: t.nanosecondsInOld)) }
        if t.old == .synSent && t.new == .established { e.connectNanoseconds = t.nanosecondsInOld }
        var enteredCloseWait = false
        switch (t.old, t.new) {
        case (_, .finWait1): if e.closedBy == nil { e.closedBy = .local }
        case (_, .closeWait):
            if e.closedBy == nil { e.closedBy = .remote }
            e.peerFIN = true
            e.closeWaitSince = t.time
            e.closeWaitIsLowerBound = false
            e.lingererReported = false
            e.unreadBytes = t.receiveQueue.map { UInt64($0 > 0 ? $0 - 1 : 0) }
            enteredCloseWait = true
        case (.finWait1, .finWait2), (.closing, .close), (.lastAck, .close): e.ourFINAcked = true
        case (.finWait1, .closing): e.peerFIN = true
        default: break
        }
        if t.old == .closeWait, let since = e.closeWaitSince {
            if e.lingererReported {
                outcome.closedLingerer = lingerer(e, event: .closed, now: t.time, since: since)
                outcome.hasLingererClosed = true
            }
            e.closeWaitSince = nil
            e.lingererReported = false
        }
        e.state = t.new
        return enteredCloseWait
    }

    /// The table-wide bookkeeping of a transition: listeners' owners (inherited by the sockets
    /// they accept) and the CLOSE_WAIT index.
    mutating func book(_ t: Transition, localPort: UInt16, owner: Owner?, isNew: Bool, enteredCloseWait: Bool) {
        if t.new == .listen { noteListener(port: localPort, owner: owner) }
        if t.old == .listen && t.new == .close && !isNew { listenerOwners[localPort] = nil }
        if t.old == .closeWait { closeWaitPending[t.identity.cookie] = nil }
        if enteredCloseWait { enqueueCloseWait(t.identity.cookie, since: t.time) }
    }

    mutating func noteListener(port: UInt16, owner: Owner?) {
        guard let owner else { return }
        if let known = listenerOwners[port], known?.pid != owner.pid {
            listenerOwners[port] = .some(nil)  // several processes listen here: ambiguous
        } else {
            listenerOwners[port] = owner
        }
    }

    /// Sockets whose time in CLOSE_WAIT has reached the threshold by `now`, each reported once.
    public mutating func dueLingerers(now: WallTime) -> [LingererRecord] {
        var due: [LingererRecord] = []
        while closeWaitHead < closeWaitQueue.count {
            let (since, cookie) = closeWaitQueue[closeWaitHead]
            guard now.nanoseconds - since.nanoseconds >= Int64(lingerThresholdNanoseconds) else { break }
            closeWaitHead += 1
            guard closeWaitPending[cookie] == since else { continue }  // left CLOSE_WAIT since
            closeWaitPending[cookie] = nil
            guard let i = entries.slot(of: cookie), entries[slot: i].state == .closeWait, !entries[slot: i].lingererReported
            else { continue }
            entries[slot: i].lingererReported = true
            due.append(Self.lingerer(entries[slot: i], event: .lingering, now: now, since: since))
        }
        compactCloseWaitQueue()
        return due
    }

    /// Takes back the report of a lingerer that `dueLingerers` just returned, found to have left
    /// CLOSE_WAIT already: its exit will send no `closed` record.
    public mutating func withdrawLingerer(_ cookie: UInt64) {
        if let i = entries.slot(of: cookie) { entries[slot: i].lingererReported = false }
    }

    /// When the oldest socket still waiting in CLOSE_WAIT crosses the threshold. Lets a replay
    /// run its clock exactly.
    public var nextLingererDue: WallTime? {
        var i = closeWaitHead
        while i < closeWaitQueue.count {
            let (since, cookie) = closeWaitQueue[i]
            if closeWaitPending[cookie] == since {
                return WallTime(nanoseconds: since.nanoseconds &+ Int64(lingerThresholdNanoseconds))
            }
            i += 1
        }
        return nil
    }

    mutating func enqueueCloseWait(_ cookie: UInt64, since: WallTime) {
        closeWaitPending[cookie] = since
        closeWaitQueue.append((since, cookie))
        compactCloseWaitQueue()
    }

    mutating func compactCloseWaitQueue() {
        let live = closeWaitQueue.count - closeWaitHead
        guard live > 2 * closeWaitPending.count + 1024 || (closeWaitHead > 1024 && closeWaitHead * 2 > closeWaitQueue.count)
        else { return }
        closeWaitQueue = closeWaitPending.map { (since: $1, cookie: $0) }.sorted { ($0.since, $0.cookie) < ($1.since, $1.cookie) }
        closeWaitHead = 0
    }

    /// Sockets in CLOSE_WAIT now, reported or not (for the end of a replayed log).
    public func inCloseWait(now: WallTime) -> [LingererRecord] {
        entries.all.compactMap { _, e in
            guard e.state == .closeWait, let since = e.closeWaitSince else { return nil }
            return Self.lingerer(e, event: .lingering, now: now, since: since)
        }.sorted { $0.identity.cookie < $1.identity.cookie }
    }

    static func lingerer(_ e: Entry, event: LingererRecord.Event, now: WallTime, since: WallTime) -> LingererRecord {
        LingererRecord(
            event: event, time: now, identity: e.identity, holder: e.owner.map { .init(process: $0, fd: nil) }, inode: e.inode,
            ageNanoseconds: UInt64(max(0, now.nanoseconds - since.nanoseconds)), ageIsLowerBound: e.closeWaitIsLowerBound,
            unreadBytes: e.unreadBytes)
    }

    static func record(_ e: Entry, closing t: Transition) -> ConnectionRecord {
        record(e, spans: e.spans, closing: t)
    }

    /// The record of `e`, whose timeline is `spans` (moved out of a live entry, or its own).
    static func record(_ e: borrowing Entry, spans: consuming [ConnectionRecord.Span], closing t: Transition) -> ConnectionRecord {
        // TIME_WAIT is never a traced state: the kernel swaps in a timewait socket and the
        // full socket goes FIN_WAIT2/CLOSING -> CLOSE. At FIN_WAIT2 -> CLOSE the peer's FIN
        // (one unread sequence number) tells TIME_WAIT from an orphan still in FIN_WAIT2.
        let finIn = t.old == .finWait2 && (t.receiveQueue.map { $0 >= 1 } ?? true)
        let timeWaitState: TCPState? =
            t.old == .closing || finIn ? .timeWait : t.old == .finWait2 ? .finWait2 : nil
        var peerFIN = e.peerFIN
        if finIn { peerFIN = true }
        var closedBy = e.closedBy ?? (e.role == .listener ? .local : .reset)
        if e.partial && e.closedBy == nil && e.role != .listener { closedBy = .unknown }
        var r = ConnectionRecord(
            time: t.time, identity: e.identity, role: e.role, owner: e.owner, timeline: spans,
            connectNanoseconds: e.connectNanoseconds,
            lifetimeNanoseconds: e.born.map { UInt64(max(0, t.time.nanoseconds - $0.nanoseconds)) },
            closedBy: closedBy, timeWaitState: timeWaitState, bytesSent: nil, bytesReceived: nil, retransmissions: nil,
            smoothedRTTMicroseconds: nil, partial: e.partial)
        r.gap = e.gap
        if e.role == .client && t.counters != nil {
            r.connectError = ConnectError.of(
                closingFrom: t.old, socketError: t.counters?.socketError ?? 0, localPort: e.identity.localPort)
        }
        if let c = t.counters {
            // The kernel counts SYN and FIN as one sequence number each; payload excludes them.
            let synAcked: UInt64 = e.role == .client && e.connectNanoseconds != nil ? 1 : 0
            let finAcked: UInt64 = e.ourFINAcked ? 1 : 0
            r.bytesSent = c.bytesAcked >= synAcked + finAcked ? c.bytesAcked - synAcked - finAcked : 0
            r.bytesReceived = c.bytesReceived >= (peerFIN ? 1 : 0) ? c.bytesReceived - (peerFIN ? 1 : 0) : 0
            r.retransmissions = c.totalRetransmissions
            r.smoothedRTTMicroseconds = c.smoothedRTTMicroseconds
        }
        return r
    }

    /// Drops entries whose socket no longer exists in the kernel (`alive`: every socket cookie
    /// a census found) and that have been idle since before `idleBefore`: their CLOSE event was
    /// lost. Returns how many. Without this, lost events would leave entries until eviction.
    /// `dumped`: the namespaces the census covered (nil: all). An entry of another namespace is
    /// not judged: its socket may live on where no dump reached (a namespace made since the last
    /// discovery, or one whose processes and name are gone while its orphans time out).
    public mutating func removeVanished(alive: Set<UInt64>, dumped: Set<UInt32>? = nil, idleBefore: WallTime) -> Int {
        remove(vanished: idleCookies(idleBefore: idleBefore).subtracting(alive), dumped: dumped)
    }

    /// The cookies of the entries idle since before `idleBefore`: what a reconciliation asks the
    /// kernel about. At most the table's capacity, whatever the number of sockets on the host.
    public func idleCookies(idleBefore: WallTime) -> Set<UInt64> {
        entries.cookies { $0.lastActivity < idleBefore }
    }

    /// Drops the entries of `cookies`, whose sockets a dump of the namespaces `dumped` (nil: all)
    /// did not find; entries of other namespaces are not judged (see `removeVanished`). Returns
    /// how many were dropped.
    public mutating func remove(vanished cookies: Set<UInt64>, dumped: Set<UInt32>? = nil) -> Int {
        var n = 0
        for cookie in cookies {
            guard let i = entries.slot(of: cookie) else { continue }
            if let dumped, let netns = entries[slot: i].identity.netns, !dumped.contains(netns) { continue }
            entries.remove(slot: i, cookie: cookie)
            closeWaitPending[cookie] = nil
            n += 1
        }
        return n
    }

    /// States the kernel's own timers end (SYN and FIN retransmissions, an orphan's FIN_WAIT1):
    /// an entry idle in one for long may have lost its later transitions without any counter
    /// saying so (the kernel skipping every program for a burst of hits, docs/benchmarks.md).
    public static func isTransient(_ s: TCPState) -> Bool {
        s == .synSent || s == .synRecv || s == .finWait1 || s == .closing || s == .lastAck
    }

    /// Whether an entry has been idle in a transient state since before `idleBefore`.
    public func hasIdleTransient(idleBefore: WallTime) -> Bool {
        entries.contains { Self.isTransient($0.state) && $0.lastActivity < idleBefore }
    }

    /// Keeps the table under `capacity`: evicts the least recently active 1%, CLOSE_WAIT last.
    mutating func makeRoom(now: WallTime) {
        guard entries.count >= capacity else { return }
        let batch = max(1, capacity / 100)
        let victims = entries.all.map { (cookie: $0.cookie, closeWait: $0.entry.state == .closeWait, last: $0.entry.lastActivity) }
            .sorted { ($0.closeWait ? 1 : 0, $0.last) < ($1.closeWait ? 1 : 0, $1.last) }
            .prefix(batch)
        for v in victims {
            entries.remove(cookie: v.cookie)
            closeWaitPending[v.cookie] = nil
        }
        evictions += UInt64(victims.count)
    }
}

extension ConnectionTable {
    /// The entries in a slab: a dictionary maps each cookie to a slot of an array, so an entry
    /// (about 200 bytes) is changed in place on every event, where a dictionary value would be
    /// copied out and back; slots freed when connections close are reused, so the array stays
    /// as large as the most entries open at once (at most the table's capacity).
    struct EntryStore: Sendable {
        private var slotOf = CookieMap<UInt32>()
        private var slots: [Entry] = []
        private var freeSlots: [Int] = []

        var count: Int { slotOf.count }

        func slot(of cookie: UInt64) -> Int? { slotOf[cookie].map { Int($0) } }

        /// A live entry by slot, read or changed in place (not copied out).
        subscript(slot i: Int) -> Entry {
            _read { yield slots[i] }
            _modify { yield &slots[i] }
        }

        /// Adds the entry of a cookie that has none.
        mutating func insert(_ e: consuming Entry, for cookie: UInt64) {
            if let i = freeSlots.popLast() {
                slots[i] = consume e
                slotOf.set(cookie, UInt32(i))
            } else {
                slotOf.set(cookie, UInt32(slots.count))
                slots.append(consume e)
            }
        }

        /// The timeline of the entry in slot `i`, moved out (the entry keeps an empty one).
        mutating func takeSpans(slot i: Int) -> [ConnectionRecord.Span] {
            var spans: [ConnectionRecord.Span] = []
            swap(&spans, &slots[i].spans)
            return spans
        }

        mutating func remove(slot i: Int, cookie: UInt64) {
            slotOf.remove(cookie)
            slots[i].spans = []  // a free slot keeps no allocation alive
            freeSlots.append(i)
        }

        mutating func remove(cookie: UInt64) {
            if let i = slotOf[cookie] { remove(slot: Int(i), cookie: cookie) }
        }

        /// The cookies of the live entries satisfying `predicate` (no copy of the entries).
        func cookies(where predicate: (Entry) -> Bool) -> Set<UInt64> {
            var out = Set<UInt64>()
            slotOf.forEach { cookie, i in if predicate(slots[Int(i)]) { out.insert(cookie) } }
            return out
        }

        /// Every live entry with its cookie.
        var all: [(cookie: UInt64, entry: Entry)] {
            var out: [(cookie: UInt64, entry: Entry)] = []
            out.reserveCapacity(slotOf.count)
            slotOf.forEach { cookie, i in out.append((cookie, slots[Int(i)])) }
            return out
        }

        /// Whether a live entry satisfies `predicate` (no copy of the entries).
        func contains(where predicate: (Entry) -> Bool) -> Bool {
            slotOf.contains { _, i in predicate(slots[Int(i)]) }
        }
    }
}

extension ConnectionTable {
    /// The one path from a transition to records, for live tracing and offline replay alike:
    /// applies it, gives it the owner the table knows (e.g. inherited from a listener found at
    /// start) and counts it in `summary`.
    public mutating func ingest(_ t: inout Transition, summary: inout RunSummary) -> Outcome {
        var outcome = Outcome()
        t = ingest(t, summary: &summary, into: &outcome)
        return outcome
    }

    /// `ingest` writing into `outcome`, a fresh `Outcome()` of the caller's (see
    /// `apply(_:into:)`), and returning the transition with its owner. The event is only
    /// borrowed until then: a `var` or `inout` transition passed to a function is copied
    /// (about 250 bytes) at each call.
    public mutating func ingest(_ event: Transition, summary: inout RunSummary, into outcome: inout Outcome) -> Transition {
        ingest(borrowing: event, summary: &summary, into: &outcome)
        var t = event
        if t.owner == nil { t.owner = outcome.owner }
        return t
    }

    /// The same, the transition only borrowed: the caller, owning it, fills in its owner
    /// (`outcome.owner`) in place, where a returned transition is one more ~280-byte copy
    /// per event (and an `inout` one is copied for each call that reads it).
    @inline(__always)
    public mutating func ingest(borrowing t: borrowing Transition, summary: inout RunSummary, into outcome: inout Outcome) {
        apply(t, into: &outcome)
        summary.record(t)
        if outcome.hasConnection { summary.record(outcome.closedConnection) }
    }

    /// `ingest` of a batch of one socket's transitions (aggregated kernel records), oldest first:
    /// the same entries, records and counts as ingesting them one by one, with one table lookup
    /// for the batch, and no insert or removal for a connection whose whole life is in it (the
    /// usual case). `outcome` gets the batch's records: at most one lingerer leaving CLOSE_WAIT
    /// (entering it ends a batch) and one connection (CLOSE ends a batch).
    public mutating func ingest(batch b: borrowing TransitionBatch, summary: inout RunSummary, into outcome: inout Outcome) {
        var t = b.last
        var closesEarly = false
        for i in 0..<b.earlierCount where b.earlier(i).new == .close { closesEarly = true }
        if closesEarly {  // never from the kernel (CLOSE ends a batch): one by one
            for i in 0..<b.count {
                b.load(i, into: &t)
                ingest(borrowing: t, summary: &summary, into: &outcome)
            }
            return
        }
        if let slot = entries.slot(of: t.identity.cookie) {
            for i in 0..<b.count {
                b.load(i, into: &t)
                apply(t, slot: slot, into: &outcome)
                summary.record(t)
            }
        } else {
            b.load(0, into: &t)
            var e = startEntry(t, outcome: &outcome)
            summary.record(t)
            for i in 1..<b.count {
                b.load(i, into: &t)
                let entered = Self.step(&e, t, isNew: false, outcome: &outcome)
                book(t, localPort: e.identity.localPort, owner: e.owner, isNew: false, enteredCloseWait: entered)
                summary.record(t)
            }
            outcome.owner = e.owner
            if t.new == .close && t.old != .close {
                outcome.setConnection(Self.record(e, closing: t))
            } else {
                entries.insert(consume e, for: t.identity.cookie)
            }
        }
        if outcome.hasConnection { summary.record(outcome.closedConnection) }
    }
}
