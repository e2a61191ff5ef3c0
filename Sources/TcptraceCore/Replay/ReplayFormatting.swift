extension JSONLines {
    /// The `report` record `tcptrace-bpf report` writes before its summary: what it read.
    public static func append(
        _ s: Replay.InputStats, end: WallTime, inputs: [String], closeWaitThresholdNanoseconds: UInt64, to out: inout [UInt8]
    ) {
        append(ReportRecord(s, end: end, inputs: inputs, closeWaitThresholdNanoseconds: closeWaitThresholdNanoseconds), to: &out)
    }
}

extension TextLines {
    /// What `report` read, for people (after the summary).
    public func appendInputStats(_ s: Replay.InputStats, to out: inout [UInt8]) {
        var t = "input: \(s.lines) lines, \(s.transitions) transitions, \(s.malformed) malformed, \(s.otherRecords) other records passed over"
        if s.outsideWindow > 0 { t += ", \(s.outsideWindow) outside --since/--until" }
        if s.reordered > 0 || s.late > 0 { t += ", \(s.reordered) put back in time order, \(s.late) too late to reorder" }
        if let first = s.first, let last = s.last { t += "; log from \(first.rfc3339) to \(last.rfc3339)" }
        out.append(contentsOf: (t + "\n").utf8)
    }
}
