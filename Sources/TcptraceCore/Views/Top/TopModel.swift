/// `top`'s memory between frames: lingerers reported and not yet closed, the latest census,
/// and the previous frame's counters (rates are differences). Pure: the run passes in its
/// summary, clocks and what the connection table says.
public struct TopModel: Sendable {
    public let closeWaitThresholdNanoseconds: UInt64
    /// Most lingerers kept (the connection table's capacity: no more can be open).
    public let limit: Int
    /// Destinations listed.
    public let top: Int
    private var lingerers: [UInt64: LingererRecord] = [:]
    /// The latest record of each leak group.
    private var leaks = LeakBook()
    private var census: Census?
    private var previous: Previous?

    struct Previous {
        var monotonic: UInt64
        var events: UInt64
        var counts: [StatePair: UInt64]
        var connectLatency: DurationHistogram
        var timeWait: TimeWaitTally
        var lost: UInt64
    }

    public init(closeWaitThresholdNanoseconds: UInt64, limit: Int, top: Int = 20) {
        self.closeWaitThresholdNanoseconds = closeWaitThresholdNanoseconds
        self.limit = limit
        self.top = top
    }

    /// A lingerer record of the run: `lingering` adds it, `closed` removes it.
    public mutating func note(_ l: LingererRecord) {
        switch l.event {
        case .lingering:
            if lingerers.count < limit || lingerers[l.identity.cookie] != nil { lingerers[l.identity.cookie] = l }
        case .closed, .openAtEnd:
            lingerers[l.identity.cookie] = nil
        }
    }

    /// One census round: a census per network namespace, taken together.
    public mutating func note(_ r: LeakRecord) { leaks.note(r) }

    public mutating func note(censusRound parts: [Census]) {
        guard let first = parts.first else { return }
        census = parts.count == 1 ? first : Census.total(of: parts, time: first.time)
    }

    /// The frame at `now` (wall) / `monotonic` (for rates). `isLingering`: whether a socket is
    /// still in CLOSE_WAIT as the table knows it (a lingerer evicted from the table, or whose
    /// close was lost, never sends its `closed`).
    public mutating func frame(
        summary: RunSummary, lost: LostEvents, now: WallTime, monotonic: UInt64, isLingering: (UInt64) -> Bool
    ) -> TopSnapshot {
        var s = TopSnapshot()
        s.time = now
        s.uptimeNanoseconds = UInt64(max(0, now.nanoseconds - summary.start.nanoseconds))
        s.census = census
        s.events = summary.events
        s.connectLatency = summary.connectLatency
        s.closeWaitThresholdNanoseconds = closeWaitThresholdNanoseconds
        s.timeWaitTotal = summary.timeWait.total
        s.lost = lost
        let counts = summary.transitionCounts

        s.leakGroups = leaks.groups.map { g in
            var g = g
            g.oldestAgeNanoseconds &+= UInt64(max(0, now.nanoseconds - g.time.nanoseconds))
            return g
        }
        lingerers = lingerers.filter { isLingering($0.key) }
        s.lingerers = lingerers.values.map { l in
            var l = l
            l.ageNanoseconds &+= UInt64(max(0, now.nanoseconds - l.time.nanoseconds))
            l.time = now
            return l
        }.sorted { ($1.ageNanoseconds, $0.identity.cookie) < ($0.ageNanoseconds, $1.identity.cookie) }

        let seconds: Double
        if let p = previous, monotonic > p.monotonic {
            s.intervalNanoseconds = monotonic - p.monotonic
            seconds = Double(s.intervalNanoseconds) / 1e9
            s.eventsPerSecond = Double(summary.events &- p.events) / seconds
            s.transitionRates = counts.compactMap { pair, n in
                let d = n &- (p.counts[pair] ?? 0)
                return d > 0 ? TopSnapshot.Rate(pair: pair, perSecond: Double(d) / seconds) : nil
            }.sorted { ($1.perSecond, $0.pair) < ($0.perSecond, $1.pair) }
            s.recentConnectLatency = summary.connectLatency.subtracting(p.connectLatency)
            s.timeWaitPerSecond = Double(summary.timeWait.total &- p.timeWait.total) / seconds
            s.recentlyLost = lost.total &- p.lost
        } else {
            seconds = 0
        }
        s.timeWaitTop = summary.timeWait.top(top).map { e, n in
            let before = previous?.timeWait.byEndpoint[e] ?? 0
            return TopSnapshot.Destination(endpoint: e, count: n, perSecond: seconds > 0 ? Double(n &- before) / seconds : 0)
        }
        s.makers = Array(summary.churn.makers.views(now: now).prefix(top))
        s.pressure = summary.churn.readings(now: now)
        s.failedConnects = summary.churn.failedConnects
        previous = Previous(
            monotonic: monotonic, events: summary.events, counts: counts, connectLatency: summary.connectLatency,
            timeWait: summary.timeWait, lost: lost.total)
        return s
    }
}
