/// Offline analysis of recorded JSON lines (`tcptrace-bpf report`): the recorded transitions
/// go through the same `ConnectionTable` as live tracing, with the records' own times as the
/// clock. Streams: memory follows the open connections and the reorder window, never the
/// length of the log.
public struct Replay: Sendable {
    /// What the replay produces, in the order a live run would have.
    public enum Output: Sendable {
        case connection(ConnectionRecord)
        case lingerer(LingererRecord)
        /// With `emitsStateChanges` only: each transition as it is applied (in time order,
        /// before its own outputs), and each `census` record at its place in time.
        case transition(Transition)
        case census(CensusRecord)
        /// With `emitsStateChanges` only: the loss a live run's `summary` record in the log counted.
        case recordedSummary(LostEvents)
        /// With `emitsStateChanges` only: a `finding` record in the log (a live run's verdict).
        case finding(FindingRecord)
        /// A destination's local ports crossed a warning level (as the live run said it).
        case portPressure(PortPressureRecord)
    }

    /// Counts about the input itself.
    public struct InputStats: Hashable, Sendable {
        public var lines: UInt64 = 0
        public var transitions: UInt64 = 0
        /// Lines that were not a record: malformed JSON, a transition missing a field, a cut line.
        public var malformed: UInt64 = 0
        /// Records of other types (connection, lingerer, summary, …), passed over.
        public var otherRecords: UInt64 = 0
        /// Transitions outside --since/--until.
        public var outsideWindow: UInt64 = 0
        /// Transitions that came before an earlier-stamped one and were put back in order.
        public var reordered: UInt64 = 0
        /// Transitions older than the reorder window allows: applied late, as they came.
        public var late: UInt64 = 0
        public var first: WallTime?
        public var last: WallTime?
        public init() {}
    }

    public private(set) var table: ConnectionTable
    public private(set) var summary: RunSummary
    public private(set) var stats = InputStats()
    public let since: WallTime?
    public let until: WallTime?
    let window: Int64
    var pending: TimeOrderedBuffer
    /// The replay clock: the time of the latest transition applied.
    var clock: WallTime?
    /// The newest time on any record in the window (the end of the log, for `inCloseWait`).
    var newest: WallTime?
    /// The CLOSE_WAIT leak groups and stacks the log's `leak` and `stack` records say (a live
    /// run's sock_diag and /proc findings cannot be replayed from transitions: they are read back).
    public private(set) var leaks = LeakBook()
    /// Emit `.transition` and `.census` outputs too (the HTML report draws state counts).
    public var emitsStateChanges = false
    /// Census records read but not yet due: released when the replay clock reaches them, so
    /// that they fall between the transitions around them (the reorder window delays those).
    var pendingCensus: [CensusRecord] = []
    /// Census records' open sockets per destination, each waiting until the transitions read
    /// before it are applied: the live run counted them from where it wrote the record.
    var pendingOpen: [(afterTransitions: UInt64, netns: UInt32?, exhaustion: [CensusRecord.Exhaustion])] = []
    var applied: UInt64 = 0
    static let maxPendingCensus = 10_000

    /// `reorderWindowNanoseconds`: how far a record may come after a later-stamped one and
    /// still be put in place; `reorderCapacity` bounds the buffer whatever the rate.
    public init(
        table: ConnectionTable, since: WallTime? = nil, until: WallTime? = nil,
        reorderWindowNanoseconds: Int64 = 1_000_000_000, reorderCapacity: Int = 100_000,
        churnTop: Int = TimeWaitMakers.defaultCapacity
    ) {
        self.table = table
        self.since = since
        self.until = until
        self.window = reorderWindowNanoseconds
        self.pending = TimeOrderedBuffer(capacity: reorderCapacity)
        self.summary = RunSummary(start: since ?? WallTime(nanoseconds: 0))
        self.summary.churn = ChurnTracker(top: churnTop)
    }

    /// One line of the log. Errors are the line's own (counted as malformed), except
    /// `.unsupportedVersion`, which the caller should treat as the end of the input.
    public mutating func feed(line: UnsafeBufferPointer<UInt8>, _ emit: (Output) -> Void) -> RecordLineError? {
        stats.lines += 1
        switch RecordLineParser.parse(line) {
        case .failure(let e):
            if case .unsupportedVersion = e {} else { stats.malformed += 1 }
            return e
        case .success(.blank):
            return nil
        case .success(.other(let type, let time)):
            stats.otherRecords += 1
            // A namespace's ports, as the live run read them: needed from then on for pressure.
            if type == "port_range", case .success(.some(let r)) = RecordLineParser.read(line, as: PortRangeRecord.self) {
                summary.churn.setPorts(r.ports, netns: r.netns)
            }
            // Where the live run wrote it: a census's open sockets count as held ports from here.
            var census: CensusRecord?
            if type == "census", case .success(.some(let c)) = RecordLineParser.read(line, as: CensusRecord.self) {
                if pendingOpen.count >= Self.maxPendingCensus { observeOpen(pendingOpen.removeFirst()) }
                pendingOpen.append((stats.transitions, c.netns, c.exhaustion))
                observeDueOpen()
                census = c
            }
            if let time, inWindow(time) {
                see(time)
                if type == "leak", case .success(.some(let r)) = RecordLineParser.read(line, as: LeakRecord.self) { leaks.note(r) }
                if type == "stack", case .success(.some(let r)) = RecordLineParser.read(line, as: StackRecord.self) { leaks.note(r) }
                if emitsStateChanges && type == "summary", case .success(.some(let s)) = RecordLineParser.read(line, as: SummaryRecord.self) {
                    emit(.recordedSummary(s.lost))
                }
                if emitsStateChanges && type == "finding", case .success(.some(let f)) = RecordLineParser.read(line, as: FindingRecord.self) {
                    emit(.finding(f))
                }
                if emitsStateChanges, let c = census {
                    if pendingCensus.count >= Self.maxPendingCensus { emit(.census(pendingCensus.removeFirst())) }
                    // Kept in time order (namespaces' census records may come out of order).
                    let at = pendingCensus.lastIndex { $0.time <= c.time }.map { $0 + 1 } ?? 0
                    pendingCensus.insert(c, at: at)
                }
            }
            return nil
        case .success(.transition(let t)):
            feed(t, emit)
            return nil
        }
    }

    /// A line the caller could not even hand over (cut off, or lost in a damaged gzip stream).
    public mutating func countMalformedLine() {
        stats.lines += 1
        stats.malformed += 1
    }

    /// One recorded transition.
    public mutating func feed(_ t: Transition, _ emit: (Output) -> Void) {
        stats.transitions += 1
        guard inWindow(t.time) else {
            stats.outsideWindow += 1
            applied += 1  // as far as a census record after it is concerned
            observeDueOpen()
            return
        }
        see(t.time)
        if let clock, t.time < clock {
            // Behind what was already applied: the window was too small for it.
            stats.late += 1
            apply(t, emit)
            return
        }
        if let newest = pending.newest, t.time < newest { stats.reordered += 1 }
        pending.insert(t)
        // Everything older than the window behind the newest record is final.
        while let oldest = pending.oldestTime,
            pending.isOverCapacity || oldest.nanoseconds <= (newest?.nanoseconds ?? .max) - window
        {
            apply(pending.removeOldest(), emit)
        }
    }

    /// End of input: applies what is buffered, reports lingerers due by the end of the log,
    /// closes the summary, and returns the sockets still in CLOSE_WAIT then, with their age.
    public mutating func finish(_ emit: (Output) -> Void) -> [LingererRecord] {
        while !pending.isEmpty { apply(pending.removeOldest(), emit) }
        for p in pendingOpen { observeOpen(p) }
        pendingOpen = []
        releaseCensus(before: nil, emit)
        let end = until.map { u in newest.map { min($0, u) } ?? u } ?? newest ?? clock ?? WallTime(nanoseconds: 0)
        advanceClock(to: end, emit)
        summary.start = since ?? stats.first ?? end
        summary.end = end
        summary.lost.undecodable = stats.malformed
        summary.tableEvictions = table.evictions
        return table.inCloseWait(now: end)
    }

    func inWindow(_ time: WallTime) -> Bool {
        if let since, time < since { return false }
        if let until, time > until { return false }
        return true
    }

    mutating func see(_ time: WallTime) {
        if stats.first.map({ time < $0 }) ?? true { stats.first = time }
        if stats.last.map({ time > $0 }) ?? true { stats.last = time }
        if newest.map({ time > $0 }) ?? true { newest = time }
    }

    mutating func observeOpen(_ p: (afterTransitions: UInt64, netns: UInt32?, exhaustion: [CensusRecord.Exhaustion])) {
        summary.churn.observe(censusOf: p.netns, p.exhaustion)
    }

    /// The census records whose preceding transitions have all been applied.
    mutating func observeDueOpen() {
        while let first = pendingOpen.first, first.afterTransitions <= applied { observeOpen(pendingOpen.removeFirst()) }
    }

    mutating func apply(_ t: Transition, _ emit: (Output) -> Void) {
        defer {
            applied += 1
            observeDueOpen()
        }
        // Lingerers due before this transition are reported at the moment they crossed the
        // threshold, as a live run checking continuously would.
        advanceClock(to: t.time, emit)
        if clock.map({ t.time > $0 }) ?? true { clock = t.time }
        var t = t
        if emitsStateChanges {
            releaseCensus(before: t.time, emit)
            emit(.transition(t))
        }
        let outcome = table.ingest(&t, summary: &summary)
        if let c = outcome.connection {
            emit(.connection(c))
            if c.role == .client {
                for w in summary.churn.pressureWarnings(c) { emit(.portPressure(w)) }
            }
        }
        if let l = outcome.lingererClosed { emit(.lingerer(l)) }
    }

    /// Emits the census records taken before `time` (all when nil), oldest first.
    mutating func releaseCensus(before time: WallTime?, _ emit: (Output) -> Void) {
        guard let first = pendingCensus.first, time.map({ first.time <= $0 }) ?? true else { return }
        var n = 0
        while n < pendingCensus.count, time.map({ pendingCensus[n].time <= $0 }) ?? true {
            emit(.census(pendingCensus[n]))
            n += 1
        }
        pendingCensus.removeFirst(n)
    }

    mutating func advanceClock(to now: WallTime, _ emit: (Output) -> Void) {
        while let due = table.nextLingererDue, due <= now {
            for l in table.dueLingerers(now: due) {
                summary.record(l)
                emit(.lingerer(l))
            }
        }
    }
}
