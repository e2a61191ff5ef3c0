extension JSONLines {
    /// The `report` record `tcptrace-bpf report` writes before its summary: what it read.
    public static func append(
        _ s: Replay.InputStats, end: WallTime, inputs: [String], closeWaitThresholdNanoseconds: UInt64, to out: inout [UInt8]
    ) {
        appendHeader("report", time: end, to: &out)
        out.appendASCII(",\"inputs\":[")
        for (i, name) in inputs.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.appendJSONString(name)
        }
        out.appendASCII("],\"lines\":")
        out.appendDecimal(s.lines)
        out.appendASCII(",\"transitions\":")
        out.appendDecimal(s.transitions)
        out.appendASCII(",\"malformed\":")
        out.appendDecimal(s.malformed)
        out.appendASCII(",\"other_records\":")
        out.appendDecimal(s.otherRecords)
        out.appendASCII(",\"outside_window\":")
        out.appendDecimal(s.outsideWindow)
        out.appendASCII(",\"reordered\":")
        out.appendDecimal(s.reordered)
        out.appendASCII(",\"late\":")
        out.appendDecimal(s.late)
        out.appendASCII(",\"first\":")
        appendOptionalTime(s.first, to: &out)
        out.appendASCII(",\"last\":")
        appendOptionalTime(s.last, to: &out)
        out.appendASCII(",\"close_wait_threshold_s\":")
        out.appendFixed(closeWaitThresholdNanoseconds, scaleDigits: 9, decimals: 3)
        out.appendASCII("}\n")
    }

    static func appendOptionalTime(_ t: WallTime?, to out: inout [UInt8]) {
        guard let t else {
            out.appendASCII("null")
            return
        }
        out.append(UInt8(ascii: "\""))
        t.appendRFC3339(to: &out)
        out.append(UInt8(ascii: "\""))
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
