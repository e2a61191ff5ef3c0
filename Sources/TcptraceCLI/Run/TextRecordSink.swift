import TcptraceCore

/// Aligned lines for people: no census unless asked for; losses on standard error at once.
struct TextRecordSink: RecordSink {
    static var defaultCensusInterval: UInt64? { nil }
    static var saysLossAsItHappens: Bool { true }

    let text: TextLines
    /// ANSI emphasis on lingerer alerts (only when writing to a terminal).
    let color: Bool
    /// One line per lingering socket too (`--leak-sockets`), not only per group.
    var showsSockets = false

    func appendTransitionHeader(to out: inout [UInt8]) { out.append(contentsOf: TextLines.header.utf8) }

    func append(_ t: inout Transition, to out: inout [UInt8], timeCache: inout RFC3339Cache) {
        text.append(t, to: &out)
    }

    func append(_ c: inout ConnectionRecord, to out: inout [UInt8], timeCache: inout RFC3339Cache) {
        text.append(c, to: &out)
    }

    func append(_ l: LingererRecord, to out: inout [UInt8]) {
        if showsSockets { text.append(l, color: color, to: &out) }
    }
    /// One line per group as it appears, changes or resolves (the minute's `interval` is JSON's).
    func append(_ r: LeakRecord, to out: inout [UInt8]) {
        guard r.event != .interval else { return }
        var r = r
        text.appendRecord(&r, emphasis: color ? (r.event == .resolved ? "\u{1b}[32m" : "\u{1b}[1;31m") : nil, to: &out)
    }
    func append(_ s: StackRecord, to out: inout [UInt8]) {
        var s = s
        text.appendRecord(&s, to: &out)
    }
    func appendLeaksAtEnd(_ groups: [LeakRecord], stacks: [UInt32: StackRecord], to out: inout [UInt8]) {
        text.appendLeakSection(groups, stacks: stacks, to: &out)
    }
    func append(_ c: Census, to out: inout [UInt8]) { text.appendCensus(c, to: &out) }
    func append(_ f: inout FindingRecord, to out: inout [UInt8]) { text.appendRecord(&f, to: &out) }
    func append(_ s: RunSummary, to out: inout [UInt8]) { text.appendSummary(s, to: &out) }
    func appendRecord<R: Record>(_ r: inout R, to out: inout [UInt8]) { text.appendRecord(&r, to: &out) }
}
