/// What `report --html` draws, gathered from the replay's outputs as they stream by. Memory is
/// bounded whatever the length of the log:
/// - state counts over time: `TimeBuckets` (240 buckets; when the log outgrows them, adjacent
///   pairs merge and the bucket width doubles), one peak count per state per bucket;
/// - the current count per state per network namespace (at most 4,096 namespaces, the rest
///   pooled), and the timewait sockets still to expire, grouped by second and namespace;
/// - lingerers: those still in CLOSE_WAIT (bounded by the connection table) and the 64 longest
///   finished; counts per holder (at most 1,000 holders, the rest pooled);
/// - the 15 longest-lived connections and the 15 slowest connects, with their timelines.
/// Per-state durations, connect latency and TIME_WAIT destinations come from the replay's
/// `RunSummary`, already bounded.
public struct HTMLReportModel {
    /// The states drawn, bottom of the stack first; each has its colour.
    public static let drawnStates: [TCPState] = [
        .listen, .established, .synSent, .synRecv, .finWait1, .finWait2, .closing, .lastAck, .timeWait, .closeWait,
    ]
    static let slotOfState: [Int] = {
        var s = [Int](repeating: -1, count: 256)
        for (i, state) in drawnStates.enumerated() { s[Int(state.rawValue)] = i }
        return s
    }()
    static func slot(_ s: TCPState) -> Int { slotOfState[Int(s.rawValue)] }

    /// How long a timewait socket lives (TCP_TIMEWAIT_LEN; also the default tcp_fin_timeout).
    public static let timeWaitNanoseconds: Int64 = 60_000_000_000
    public static let maxNamespaces = 4096
    public static let keptLingerers = 64
    public static let keptConnections = 15
    public static let maxHolders = 1000
    /// Lingerers followed at once; past it (their table entries were evicted, so no close will
    /// come) they are settled as still open.
    public static let maxOpenLingerers = 20_000

    public let closeWaitThresholdNanoseconds: UInt64
    public internal(set) var buckets = TimeBuckets(capacity: 240, initialWidth: 10_000_000, states: drawnStates.count)
    var levels = NamespaceLevels(states: drawnStates.count, maxNamespaces: maxNamespaces)
    /// Timewait sockets to expire: (second they expire, namespace slot, state slot, count), oldest first.
    var expiries: [(second: Int64, namespace: Int, slot: Int, count: Int32)] = []
    var expiryHead = 0
    /// Lingerers that crossed the threshold and have not left CLOSE_WAIT yet, by cookie.
    var openLingerers: [UInt64: LingererBar] = [:]
    /// The log's CLOSE_WAIT leak groups and their stacks (`report` reads them back).
    public var leaks = LeakBook()
    var finishedLingerers = TopN<LingererBar>(keptLingerers, by: LingererBar.longerFirst)
    public internal(set) var holders: [Owner: HolderStats] = [:]
    public internal(set) var otherHolders = HolderStats()
    var longest = TopN<KeptConnection>(keptConnections) { $0.lifetime > $1.lifetime }
    /// The first `keptWarnings` port-pressure warnings of the log, and how many there were.
    public internal(set) var pressureWarnings: [PortPressureRecord] = []
    public internal(set) var pressureWarningCount = 0
    public static let keptWarnings = 20
    var slowest = TopN<KeptConnection>(keptConnections) { ($0.record.connectNanoseconds ?? 0) > ($1.record.connectNanoseconds ?? 0) }
    public internal(set) var censusRecords: UInt64 = 0
    /// Loss counted by the live runs whose `summary` records are in the log.
    public internal(set) var recordedLoss = LostEvents()
    public internal(set) var recordedSummaries = 0
    /// The highest total of drawn states at any moment.
    public internal(set) var peakSockets: Int32 = 0
    public internal(set) var end: Int64?

    public init(closeWaitThresholdNanoseconds: UInt64) {
        self.closeWaitThresholdNanoseconds = closeWaitThresholdNanoseconds
    }

    /// A lingerer, drawn from entering CLOSE_WAIT to leaving it (or the end of the log).
    public struct LingererBar: Sendable {
        public var cookie: UInt64
        public var holder: Owner?
        public var start: Int64
        public var end: Int64
        /// Still in CLOSE_WAIT when the log ended.
        public var open: Bool
        /// It was in CLOSE_WAIT before the tracer started: the start is a lower bound.
        public var startIsLowerBound: Bool
        public var local: String
        public var remote: String
        public var unreadBytes: UInt64?
        public var container: String?
        public var duration: Int64 { end - start }
        static func longerFirst(_ a: LingererBar, _ b: LingererBar) -> Bool {
            a.duration != b.duration ? a.duration > b.duration : a.start < b.start
        }
    }

    public struct HolderStats: Sendable {
        public var lingerers: UInt64 = 0
        public var longest: Int64 = 0
        public var openAtEnd: UInt64 = 0
        public init() {}
    }

    /// A connection kept for the tables, with what the container registry said about it then.
    public struct KeptConnection: Sendable {
        public var record: ConnectionRecord
        public var container: String?
        /// The lifetime, or for a partial connection the time the tracer saw it.
        public var lifetime: UInt64
    }

    public var lingererBars: [LingererBar] {
        var bars = finishedLingerers
        for b in openLingerers.values { bars.offer(Self.stillOpen(b, at: end)) }
        return bars.elements
    }

    /// A lingerer whose close never came, as of `time`.
    static func stillOpen(_ b: LingererBar, at time: Int64?) -> LingererBar {
        var b = b
        b.end = max(b.end, time ?? b.end)
        b.open = true
        return b
    }
    public var longestConnections: [KeptConnection] { longest.elements }
    public var slowestConnects: [KeptConnection] { slowest.elements }

    // MARK: - Feeding

    public mutating func observe(_ o: Replay.Output) {
        switch o {
        case .transition(let t): observe(t)
        case .connection(let c): observe(c)
        case .lingerer(let l): observe(l)
        case .census(let c): observe(c)
        case .finding: return
        case .portPressure(let w):
            pressureWarningCount += 1
            if pressureWarnings.count < Self.keptWarnings { pressureWarnings.append(w) }
        case .recordedSummary(let lost):
            recordedSummaries += 1
            recordedLoss.ringBufferFull += lost.ringBufferFull
            recordedLoss.recursionMisses += lost.recursionMisses
            recordedLoss.undecodable += lost.undecodable
        }
    }

    mutating func observe(_ t: Transition) {
        let now = t.time.nanoseconds
        let i = advance(to: now)
        buckets.countTransition(at: i)
        let ns = levels.slot(of: t.identity.netns)
        let new = Self.slot(t.new)
        // LISTEN -> SYN_RECV is an accepted child's first transition: the listener stays.
        let old = t.old == .listen && t.new == .synRecv ? -1 : Self.slot(t.old)
        if old >= 0 { levels.add(-1, state: old, namespace: ns) }
        if new >= 0 { levels.add(1, state: new, namespace: ns) }
        note(i)
    }

    mutating func observe(_ c: ConnectionRecord) {
        if let tw = c.timeWaitState, case let slot = Self.slot(tw), slot >= 0 {
            let i = advance(to: c.time.nanoseconds)
            let ns = levels.slot(of: c.identity.netns)
            levels.add(1, state: slot, namespace: ns)
            let second = (c.time.nanoseconds + Self.timeWaitNanoseconds) / 1_000_000_000 + 1
            if let last = expiries.last, expiries.count > expiryHead, last.second == second, last.namespace == ns, last.slot == slot {
                expiries[expiries.count - 1].count += 1
            } else {
                expiries.append((second, ns, slot, 1))
            }
            note(i)
        }
        let container = c.identity.container.flatMap { ContainerRegistry.shared.info($0)?.shortName }
        let lifetime = c.lifetimeNanoseconds ?? c.timeline.reduce(0) { $0 + ($1.nanoseconds ?? 0) }
        let kept = KeptConnection(record: c, container: container, lifetime: lifetime)
        longest.offer(kept)
        if c.connectNanoseconds != nil { slowest.offer(kept) }
    }

    mutating func observe(_ l: LingererRecord) {
        let cookie = l.identity.cookie
        let now = l.time.nanoseconds
        switch l.event {
        case .lingering:
            let bar = LingererBar(
                cookie: cookie, holder: l.holder?.process, start: now - Int64(l.ageNanoseconds), end: now, open: true,
                startIsLowerBound: l.ageIsLowerBound, local: Self.endpoint(l.identity.local, l.identity.localPort),
                remote: Self.endpoint(l.identity.remote, l.identity.remotePort), unreadBytes: l.unreadBytes,
                container: l.identity.container.flatMap { ContainerRegistry.shared.info($0)?.shortName })
            if openLingerers.count >= Self.maxOpenLingerers {
                for b in openLingerers.values { finishedLingerers.offer(Self.stillOpen(b, at: now)) }
                openLingerers.removeAll()
            }
            openLingerers[cookie] = bar
            holderStats(l.holder?.process) { $0.lingerers += 1 }
        case .closed, .openAtEnd:
            guard var bar = openLingerers.removeValue(forKey: cookie) else {
                // In CLOSE_WAIT at the end but never past the threshold: not a lingerer.
                return
            }
            bar.end = now
            bar.start = now - Int64(l.ageNanoseconds)
            bar.open = l.event == .openAtEnd
            if l.unreadBytes != nil { bar.unreadBytes = l.unreadBytes }
            let duration = bar.duration
            holderStats(bar.holder) {
                $0.longest = max($0.longest, duration)
                if bar.open { $0.openAtEnd += 1 }
            }
            finishedLingerers.offer(bar)
        }
    }

    mutating func holderStats(_ h: Owner?, _ change: (inout HolderStats) -> Void) {
        let key = h ?? Owner(pid: 0, comm: "?")
        if holders[key] != nil || holders.count < Self.maxHolders {
            change(&holders[key, default: HolderStats()])
        } else {
            change(&otherHolders)
        }
    }

    mutating func observe(_ c: CensusRecord) {
        censusRecords += 1
        let i = advance(to: c.time.nanoseconds)
        let ns = levels.slot(of: c.netns)
        for (slot, state) in Self.drawnStates.enumerated() {
            levels.set(Int32(clamping: c.count(state)), state: slot, namespace: ns)
        }
        buckets.markCensus(at: i)
        note(i)
    }

    /// Expires timewait sockets due by `now`, then returns `now`'s bucket.
    mutating func advance(to now: Int64) -> Int {
        end = max(end ?? now, now)
        while expiryHead < expiries.count, expiries[expiryHead].second * 1_000_000_000 <= now {
            let e = expiries[expiryHead]
            let at = buckets.index(e.second * 1_000_000_000, carrying: levels.total)
            levels.add(-e.count, state: e.slot, namespace: e.namespace)
            buckets.raise(at, to: levels.total)
            expiryHead += 1
        }
        if expiryHead > 1024 && expiryHead * 2 > expiries.count {
            expiries.removeFirst(expiryHead)
            expiryHead = 0
        }
        return buckets.index(now, carrying: levels.total)
    }

    mutating func note(_ i: Int) {
        buckets.raise(i, to: levels.total)
        peakSockets = max(peakSockets, levels.total.reduce(0, +))
    }

    /// Brings the series up to `time` (the end of the log), so the last levels reach it.
    public mutating func close(at time: WallTime) {
        guard end != nil else { return }
        let i = advance(to: max(time.nanoseconds, end ?? time.nanoseconds))
        note(i)
    }

    static func endpoint(_ a: IPAddress, _ port: UInt16) -> String { TextLayout.endpoint(a, port) }
}

/// The count of sockets per state in each network namespace, and their total: transitions move
/// one socket from a state to another, a census sets a namespace's counts outright. A socket that
/// was in a state before the log began is not counted until a census says so; counts never go
/// below 0.
struct NamespaceLevels {
    let states: Int
    let maxNamespaces: Int
    var slots: [UInt32: Int] = [:]
    var perNamespace: [[Int32]] = []
    var total: [Int32]
    var last: (netns: UInt32, slot: Int)?

    init(states: Int, maxNamespaces: Int) {
        self.states = states
        self.maxNamespaces = maxNamespaces
        total = [Int32](repeating: 0, count: states)
    }

    /// The namespace's slot; namespaces past the bound share the last one.
    mutating func slot(of netns: UInt32?) -> Int {
        let key = netns ?? 0
        if let last, last.netns == key { return last.slot }
        let s: Int
        if let known = slots[key] {
            s = known
        } else if perNamespace.count < maxNamespaces {
            s = perNamespace.count
            slots[key] = s
            perNamespace.append([Int32](repeating: 0, count: states))
        } else {
            s = maxNamespaces - 1
        }
        last = (key, s)
        return s
    }

    mutating func add(_ delta: Int32, state: Int, namespace: Int) {
        let now = perNamespace[namespace][state]
        let next = max(0, now + delta)
        perNamespace[namespace][state] = next
        total[state] += next - now
    }

    mutating func set(_ value: Int32, state: Int, namespace: Int) {
        add(value - perNamespace[namespace][state], state: state, namespace: namespace)
    }
}
