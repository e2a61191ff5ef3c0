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
    func refresh(_ live: LiveRun, to out: inout [UInt8]) -> Bool { true }
}
