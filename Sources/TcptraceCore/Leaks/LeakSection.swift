extension TextLines {
    /// Groups listed in the "CLOSE_WAIT leaks" section; the rest are summed in one line.
    public static let leakSectionGroups = 20
    /// Frames of each group's stack shown there (the `stack` records have them all).
    public static let leakSectionFrames = 8

    /// The "CLOSE_WAIT leaks" section of the summary: one line per group, largest first, with
    /// its opener stack below it. The same for a live run's end and for `report` of its log.
    public func appendLeakSection(_ groups: [LeakRecord], stacks: [UInt32: StackRecord], to out: inout [UInt8]) {
        guard !groups.isEmpty else { return }
        let total = groups.reduce(0) { $0 + $1.sockets }
        out.append("\nCLOSE_WAIT leaks: \(groups.count) group\(groups.count == 1 ? "" : "s"), \(total) socket\(total == 1 ? "" : "s")\n")
        for g in groups.prefix(Self.leakSectionGroups) {
            out.appendASCII("  ")
            out.append(String(g.sockets), paddedTo: 7)
            out.append(g.cause.rawValue, paddedTo: 14)
            var who = g.holder.map { "\($0.pid) (\($0.comm))" } ?? "holder unknown"
            if let c = g.container { who += " [\(c)]" }
            out.append(who, paddedTo: 26)
            var endpoint: [UInt8] = []
            TextLines.appendEndpoint(g.address, g.port, to: &endpoint)
            out.append("\(g.role.rawValue) \(g.role == .client ? "-> " : "on ")")
            out.append(contentsOf: endpoint)
            out.appendASCII("  oldest ")
            out.appendFixed(g.oldestAgeNanoseconds, scaleDigits: 9, decimals: 1)
            out.appendASCII(g.ageIsLowerBound ? " s (at least)" : " s")
            out.append("  +\(g.newPerMinute) -\(g.closedPerMinute)/min \(g.trend.rawValue)")
            if g.folded { out.appendASCII("  (folded: more groups than kept)") }
            if let o = g.opener { out.append("  opened at \(o)") }
            out.append(UInt8(ascii: "\n"))
            if let id = g.stack, let s = stacks[id] {
                for f in s.frames.prefix(Self.leakSectionFrames) { out.append("           \(f)\n") }
                let more = s.frames.count - Self.leakSectionFrames
                if more > 0 { out.append("           … \(more) more frames (stack record \(id))\n") }
                if s.truncated { out.appendASCII("           (walk stopped: no frame pointer further out)\n") }
            }
        }
        let rest = groups.dropFirst(Self.leakSectionGroups)
        if !rest.isEmpty {
            out.append("  … \(rest.count) more groups, \(rest.reduce(0) { $0 + $1.sockets }) sockets\n")
        }
    }
}
