import TcptraceCore

/// JSON lines for fleets: a census every minute unless told otherwise; losses in the summary.
struct JSONRecordSink: RecordSink {
    static var defaultCensusInterval: UInt64? { 60_000_000_000 }
    static var saysLossAsItHappens: Bool { false }

    func appendTransitionHeader(to out: inout [UInt8]) {}

    func append(_ t: inout Transition, to out: inout [UInt8], timeCache: inout RFC3339Cache) {
        JSONLines.append(&t, to: &out, timeCache: &timeCache)
    }

    func append(_ c: inout ConnectionRecord, to out: inout [UInt8], timeCache: inout RFC3339Cache) {
        JSONLines.append(&c, to: &out, timeCache: &timeCache)
    }

    func append(_ l: LingererRecord, to out: inout [UInt8]) { JSONLines.append(l, to: &out) }
    func append(_ c: Census, to out: inout [UInt8]) { JSONLines.append(c, to: &out) }
    func append(_ r: LeakRecord, to out: inout [UInt8]) { JSONLines.append(r, to: &out) }
    func append(_ s: StackRecord, to out: inout [UInt8]) { JSONLines.append(s, to: &out) }
    static var leaksBeforeSummary: Bool { true }
    /// `exit` records, before the summary record.
    func appendLeaksAtEnd(_ groups: [LeakRecord], stacks: [UInt32: StackRecord], to out: inout [UInt8]) {
        for r in groups { JSONLines.append(r, to: &out) }
    }
    func append(_ s: RunSummary, to out: inout [UInt8]) { JSONLines.append(s, to: &out) }
    func appendRecord<R: Record>(_ r: inout R, to out: inout [UInt8]) {
        var cache = RFC3339Cache()
        JSONLines.append(&r, to: &out, timeCache: &cache)
    }
}
