/// What `top` shows at one moment: plain values, so a frame can be drawn (and tested) from
/// them alone.
public struct TopSnapshot: Sendable {
    public struct Rate: Hashable, Sendable {
        public var pair: StatePair
        public var perSecond: Double
        public init(pair: StatePair, perSecond: Double) {
            self.pair = pair
            self.perSecond = perSecond
        }
    }

    public struct Destination: Hashable, Sendable {
        public var endpoint: TimeWaitTally.Endpoint
        /// Since the start.
        public var count: UInt64
        /// Over the last interval.
        public var perSecond: Double
        public init(endpoint: TimeWaitTally.Endpoint, count: UInt64, perSecond: Double) {
            self.endpoint = endpoint
            self.count = count
            self.perSecond = perSecond
        }
    }

    public var time = WallTime(nanoseconds: 0)
    public var uptimeNanoseconds: UInt64 = 0
    /// Since the previous frame; 0 on the first (no rates yet).
    public var intervalNanoseconds: UInt64 = 0
    /// Sockets per state now, over every namespace the run covers; nil before the first census.
    public var census: Census?
    public var events: UInt64 = 0
    public var eventsPerSecond: Double = 0
    /// Transitions per second over the last interval, highest first; zero rates left out.
    public var transitionRates: [Rate] = []
    /// Client SYN_SENT -> ESTABLISHED since the start, and over the last interval.
    public var connectLatency = DurationHistogram()
    public var recentConnectLatency = DurationHistogram()
    /// Reported CLOSE_WAIT lingerers still in CLOSE_WAIT, oldest first, ages as of `time`.
    public var lingerers: [LingererRecord] = []
    /// CLOSE_WAIT leak groups, largest first (the rows shown instead of single lingerers).
    public var leakGroups: [LeakRecord] = []
    public var closeWaitThresholdNanoseconds: UInt64 = 0
    /// Connections closed into timewait sockets since the start, and the rate over the interval.
    public var timeWaitTotal: UInt64 = 0
    public var timeWaitPerSecond: Double = 0
    /// Destinations with the most, highest count first.
    public var timeWaitTop: [Destination] = []
    /// The top TIME_WAIT makers active in the last 60 s, and the pressure on their destinations.
    public var makers: [TimeWaitMakers.View] = []
    public var pressure: [PortPressure.Reading] = []
    public var failedConnects: [ConnectError: UInt64] = [:]
    public var lost = LostEvents()
    /// Lost over the last interval.
    public var recentlyLost: UInt64 = 0

    public init() {}

    /// Lingerers by the process holding them, most first (ties by pid); unknown holders as pid 0.
    public var lingerersByHolder: [(holder: Owner, count: Int)] {
        var by: [Owner: Int] = [:]
        for l in lingerers { by[l.holder?.process ?? Owner(pid: 0, comm: "?"), default: 0] += 1 }
        return by.map { ($0.key, $0.value) }.sorted { ($1.count, $0.holder.pid) < ($0.count, $1.holder.pid) }
    }
}
