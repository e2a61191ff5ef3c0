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
        out.appendASCII("input: ")
        out.appendDecimal(s.lines)
        out.appendASCII(" lines, ")
        out.appendDecimal(s.transitions)
        out.appendASCII(" transitions, ")
        out.appendDecimal(s.malformed)
        out.appendASCII(" malformed, ")
        out.appendDecimal(s.otherRecords)
        out.appendASCII(" other records passed over")
        if s.outsideWindow > 0 {
            out.appendASCII(", ")
            out.appendDecimal(s.outsideWindow)
            out.appendASCII(" outside --since/--until")
        }
        if s.reordered > 0 || s.late > 0 {
            out.appendASCII(", ")
            out.appendDecimal(s.reordered)
            out.appendASCII(" put back in time order, ")
            out.appendDecimal(s.late)
            out.appendASCII(" too late to reorder")
        }
        if let first = s.first, let last = s.last {
            out.appendASCII("; log from ")
            first.appendRFC3339(to: &out)
            out.appendASCII(" to ")
            last.appendRFC3339(to: &out)
        }
        out.append(UInt8(ascii: "\n"))
    }
}
