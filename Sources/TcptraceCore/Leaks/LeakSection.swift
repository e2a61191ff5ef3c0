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
        var t = "\nCLOSE_WAIT leaks: \(groups.count) group\(groups.count == 1 ? "" : "s"), \(total) socket\(total == 1 ? "" : "s")\n"
        for g in groups.prefix(Self.leakSectionGroups) {
            var who = g.holder.map { "\($0.pid) (\($0.comm))" } ?? "holder unknown"
            if let c = g.container { who += " [\(c)]" }
            t += "  " + String(g.sockets).padded(to: 7) + g.cause.rawValue.padded(to: 14) + who.padded(to: 26)
            t += "\(g.role.rawValue) \(g.role == .client ? "-> " : "on ")" + TextLayout.endpoint(g.address, g.port)
            t += "  oldest " + TextLayout.fixed(g.oldestAgeNanoseconds, scaleDigits: 9, decimals: 1) + (g.ageIsLowerBound ? " s (at least)" : " s")
            t += "  +\(g.newPerMinute) -\(g.closedPerMinute)/min \(g.trend.rawValue)"
            if g.folded { t += "  (folded: more groups than kept)" }
            if let o = g.opener { t += "  opened at \(o)" }
            t += "\n"
            if let id = g.stack, let s = stacks[id] {
                for f in s.frames.prefix(Self.leakSectionFrames) { t += "           \(f)\n" }
                let more = s.frames.count - Self.leakSectionFrames
                if more > 0 { t += "           … \(more) more frames (stack record \(id))\n" }
                if s.truncated { t += "           (walk stopped: no frame pointer further out)\n" }
            }
        }
        let rest = groups.dropFirst(Self.leakSectionGroups)
        if !rest.isEmpty { t += "  … \(rest.count) more groups, \(rest.reduce(0) { $0 + $1.sockets }) sockets\n" }
        out.append(contentsOf: t.utf8)
    }
}
