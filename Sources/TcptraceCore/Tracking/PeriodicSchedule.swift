/// A live run's periodic work, each kind on its own named interval of monotonic time. The
/// schedule reads no clock: the run passes its time in, tests pass plain numbers.
public struct PeriodicSchedule: Sendable {
    /// What runs periodically, in the order work due at the same time runs.
    public enum Work: Int, CaseIterable, Sendable {
        /// Lost events said on standard error as they happen (text output).
        case lossReport
        /// Sockets that crossed the CLOSE_WAIT threshold, with the process holding them.
        case lingererCheck
        /// Growth of TcpExtTCPTimeWaitOverflow (tcp_max_tw_buckets reached).
        case overflowCheck
        /// After lost events: table entries whose socket is gone, found by a sock_diag dump.
        case reconcile
        /// A `census` record.
        case census
        /// `churn` records: the TIME_WAIT makers over 10 s and 60 s.
        case churn
        /// A new metrics snapshot for `/metrics` and the textfile.
        case metrics
        /// A live view's turn (`top`): keys read, and a frame drawn when one is due or the
        /// terminal was resized.
        case screen
        /// The analyzers over what the run has seen: `finding` records for what changed.
        case findings
        /// A progress line on standard error (`diagnose` on a terminal).
        case progress

        /// The one-second checks look at once (the start-up census may have seeded lingerers), the
        /// findings (their counters read at the start are the baseline growth is measured from),
        /// and the census (the sockets as the run found them: a log's first picture, and the open
        /// connections port pressure counts from the start); slower work waits one interval first.
        public var runsAtStart: Bool {
            self == .lossReport || self == .lingererCheck || self == .screen || self == .progress || self == .findings || self == .census
        }
    }

    /// Nanoseconds between two runs of each kind of work; nil or 0: never.
    public struct Intervals: Sendable, Equatable {
        public var lossReport: UInt64? = 1_000_000_000
        public var lingererCheck: UInt64? = 1_000_000_000
        public var overflowCheck: UInt64? = 10_000_000_000
        public var reconcile: UInt64? = 5_000_000_000
        public var census: UInt64? = nil
        public var churn: UInt64? = nil
        public var metrics: UInt64? = nil
        public var screen: UInt64? = nil
        public var findings: UInt64? = nil
        public var progress: UInt64? = nil

        public init() {}

        public subscript(_ work: Work) -> UInt64? {
            get {
                switch work {
                case .lossReport: return lossReport
                case .lingererCheck: return lingererCheck
                case .overflowCheck: return overflowCheck
                case .reconcile: return reconcile
                case .census: return census
                case .churn: return churn
                case .metrics: return metrics
                case .screen: return screen
                case .findings: return findings
                case .progress: return progress
                }
            }
            set {
                switch work {
                case .lossReport: lossReport = newValue
                case .lingererCheck: lingererCheck = newValue
                case .overflowCheck: overflowCheck = newValue
                case .reconcile: reconcile = newValue
                case .census: census = newValue
                case .churn: churn = newValue
                case .metrics: metrics = newValue
                case .screen: screen = newValue
                case .findings: findings = newValue
                case .progress: progress = newValue
                }
            }
        }
    }

    public let intervals: Intervals
    /// When each kind of work is next due (indexed by `Work.rawValue`); `UInt64.max`: never.
    private var due: [UInt64]

    /// `start`: the monotonic time the run starts, in nanoseconds.
    public init(_ intervals: Intervals, start: UInt64) {
        self.intervals = intervals
        due = Work.allCases.map { work in
            guard let every = intervals[work], every > 0 else { return .max }
            return work.runsAtStart ? start : Self.adding(start, every)
        }
    }

    /// When `work` is next due; nil: never.
    public func nextDue(_ work: Work) -> UInt64? {
        due[work.rawValue] == .max ? nil : due[work.rawValue]
    }

    /// The work due at `now`, in `Work` order. Each is due again one interval after `now`, not
    /// after when it was due: a late run (a slow poll, a stopped process) is not followed by a
    /// burst of catch-up runs.
    public mutating func takeDue(at now: UInt64) -> [Work] {
        var out: [Work] = []
        for work in Work.allCases where due[work.rawValue] != .max && now >= due[work.rawValue] {
            out.append(work)
            due[work.rawValue] = Self.adding(now, intervals[work]!)
        }
        return out
    }

    /// Saturating: an interval longer than the clock's range means never.
    private static func adding(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }
}
