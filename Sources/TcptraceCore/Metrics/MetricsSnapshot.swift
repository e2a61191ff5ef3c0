/// What the metrics show, as values: taken on the consumer thread at most about once a second,
/// rendered on each scrape. Copies share storage with the live run until it writes.
public struct MetricsSnapshot: Sendable {
    public var summary: RunSummary
    /// The latest census over the namespaces the run covers (nil before the first).
    public var census: [Census]?
    public var lingerers: LingererTally
    /// Connections in the table now.
    public var tracked: Int
    /// Growth of TcpExtTCPTimeWaitOverflow since the start, in the tracer's network namespace.
    public var timeWaitOverflow: UInt64?
    /// `Tcp: RetransSegs` in the tracer's network namespace.
    public var hostRetransmittedSegments: UInt64?
    public var programs: [ProgramRunStats]
    /// TIME_WAIT destinations shown (the most first).
    public var topTimeWait: Int
    /// CLOSE_WAIT leak groups now.
    public var leaks: [LeakRecord] = []

    public init(
        summary: RunSummary, census: [Census]? = nil, lingerers: LingererTally = LingererTally(), tracked: Int = 0,
        timeWaitOverflow: UInt64? = nil, hostRetransmittedSegments: UInt64? = nil, programs: [ProgramRunStats] = [],
        topTimeWait: Int = 10
    ) {
        self.summary = summary
        self.census = census
        self.lingerers = lingerers
        self.tracked = tracked
        self.timeWaitOverflow = timeWaitOverflow
        self.hostRetransmittedSegments = hostRetransmittedSegments
        self.programs = programs
        self.topTimeWait = topTimeWait
    }
}
