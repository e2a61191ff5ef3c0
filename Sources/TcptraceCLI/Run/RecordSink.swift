import TcptraceCore

/// Where a live run's records go, in one format: chosen once (`--format`), so neither the
/// per-event path nor the periodic work asks which format it writes.
///
/// `TraceRun` is generic over its sink and built with a concrete one, so the compiler
/// specializes the run on it: each record goes to the encoder by a direct call, with no
/// existential or witness-table dispatch per event (the callgrind measure in
/// docs/benchmarks.md counts instructions per event in the ring callback). The witnesses are
/// not `@inline(__always)`: with it, Swift 6.3 left the JSON transition call going through the
/// witness table (an indirect call per event, seen in the disassembly of the ring callback).
protocol RecordSink {
    /// Census records by default (`--census-interval` unset), in nanoseconds; nil: none.
    static var defaultCensusInterval: UInt64? { get }
    /// Whether lost events are said on standard error as they happen; otherwise only the
    /// summary has them.
    static var saysLossAsItHappens: Bool { get }

    /// Above the first transition, when transitions are emitted.
    func appendTransitionHeader(to out: inout [UInt8])
    /// The per-event records, `inout` so the JSON encoder reads them in place (no copy).
    func append(_ t: inout Transition, to out: inout [UInt8], timeCache: inout RFC3339Cache)
    func append(_ c: inout ConnectionRecord, to out: inout [UInt8], timeCache: inout RFC3339Cache)
    func append(_ l: LingererRecord, to out: inout [UInt8])
    func append(_ c: Census, to out: inout [UInt8])
    /// One census: a record per network namespace.
    func append(censusRound: [Census], to out: inout [UInt8])
    func append(_ s: RunSummary, to out: inout [UInt8])
    /// Records of the TIME_WAIT view (`churn`, `port_pressure`, `port_range`).
    func appendRecord<R: Record>(_ r: inout R, to out: inout [UInt8])

    /// A finding opened, changed severity or closed.
    func append(_ f: inout FindingRecord, to out: inout [UInt8])
    /// The end of the run: the summary, or (`diagnose`) the findings open then.
    func appendEnd(_ s: RunSummary, findings: [Finding], to out: inout [UInt8])
    /// How often the analyzers run (nil: never).
    static var findingsInterval: UInt64? { get }
    /// Whether the run says on standard error that it started (not `diagnose`: nothing unasked).
    static var saysStart: Bool { get }
    /// How often a progress line is due (nil: none).
    var progressInterval: UInt64? { get }
    func sayProgress(left: UInt64?, summary: RunSummary, lingerers: Int, open: [Finding])
    /// Clears the progress line.
    func endProgress()

    /// CLOSE_WAIT leak groups (`leak`) and the stacks they name (`stack`), as they are due.
    func append(_ r: LeakRecord, to out: inout [UInt8])
    func append(_ s: StackRecord, to out: inout [UInt8])
    /// At the end of the run: the groups still there (after the summary, or before it when
    /// `leaksBeforeSummary`).
    func appendLeaksAtEnd(_ groups: [LeakRecord], stacks: [UInt32: StackRecord], to out: inout [UInt8])
    static var leaksBeforeSummary: Bool { get }

    /// How often a live view gets its turn (`refresh`); nil: this sink is no live view.
    static var screenInterval: UInt64? { get }
    /// A live view's turn (`top`): false when the user asked to quit.
    func refresh(_ live: LiveRun, to out: inout [UInt8]) -> Bool
}

extension RecordSink {
    func append(_ r: LeakRecord, to out: inout [UInt8]) {}
    func append(_ s: StackRecord, to out: inout [UInt8]) {}
    func appendLeaksAtEnd(_ groups: [LeakRecord], stacks: [UInt32: StackRecord], to out: inout [UInt8]) {}
    static var leaksBeforeSummary: Bool { false }
    func append(censusRound: [Census], to out: inout [UInt8]) {
        for c in censusRound { append(c, to: &out) }
    }
    static var screenInterval: UInt64? { nil }
    func append(_ f: inout FindingRecord, to out: inout [UInt8]) {}
    func appendEnd(_ s: RunSummary, findings: [Finding], to out: inout [UInt8]) { append(s, to: &out) }
    static var findingsInterval: UInt64? { 10_000_000_000 }
    static var saysStart: Bool { true }
    var progressInterval: UInt64? { nil }
    func sayProgress(left: UInt64?, summary: RunSummary, lingerers: Int, open: [Finding]) {}
    func endProgress() {}
    func refresh(_ live: LiveRun, to out: inout [UInt8]) -> Bool { true }
}

/// A sink that shows the run instead of writing its records (`top`, `diagnose`): the record
/// writers it does not override write nothing.
protocol ViewSink: RecordSink {}

extension ViewSink {
    func appendTransitionHeader(to out: inout [UInt8]) {}
    func append(_ t: inout Transition, to out: inout [UInt8], timeCache: inout RFC3339Cache) {}
    func append(_ c: inout ConnectionRecord, to out: inout [UInt8], timeCache: inout RFC3339Cache) {}
    func append(_ c: Census, to out: inout [UInt8]) {}
    func append(_ s: RunSummary, to out: inout [UInt8]) {}
    func appendRecord<R: Record>(_ r: inout R, to out: inout [UInt8]) {}
}
