extension PrometheusText {
    /// Holders (command and container) with their own series; the rest are summed as `comm="other"`.
    public static let leakHolders = 10

    /// CLOSE_WAIT leak groups: sockets and oldest age per holder command and container (the
    /// `leakHolders` with most sockets), and sockets by cause. At most 2 × 11 + 3 series.
    mutating func leaks(_ groups: [LeakRecord]) {
        struct Holder: Hashable, Comparable {
            var comm: String
            var container: String
            static func < (a: Holder, b: Holder) -> Bool { (a.comm, a.container) < (b.comm, b.container) }
        }
        var sockets: [Holder: UInt64] = [:]
        var oldest: [Holder: UInt64] = [:]
        var byCause: [LeakCause: UInt64] = [:]
        for g in groups {
            let h = Holder(comm: g.holder.map { $0.comm.description } ?? "?", container: g.container ?? "")
            sockets[h, default: 0] += g.sockets
            oldest[h] = max(oldest[h] ?? 0, g.oldestAgeNanoseconds)
            byCause[g.cause, default: 0] += g.sockets
        }
        let ranked = sockets.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        var shown = ranked.prefix(Self.leakHolders).map { ($0.key, $0.value, oldest[$0.key] ?? 0) }
        let rest = ranked.dropFirst(Self.leakHolders)
        if !rest.isEmpty {
            shown.append((Holder(comm: "other", container: ""), rest.reduce(0) { $0 + $1.value }, rest.map { oldest[$0.key] ?? 0 }.max() ?? 0))
        }
        shown.sort { $0.0 < $1.0 }
        typealias F = MetricFamily
        family(F.closeWaitLeakSockets)
        for (h, n, _) in shown { sample(F.closeWaitLeakSockets, [h.comm, h.container], n) }
        family(F.closeWaitLeakOldestSeconds)
        for (h, _, age) in shown { sample(F.closeWaitLeakOldestSeconds, [h.comm, h.container], Double(age) / 1e9) }
        family(F.closeWaitLeakSocketsByCause)
        for cause in LeakCause.allCases { sample(F.closeWaitLeakSocketsByCause, [cause.rawValue], byCause[cause] ?? 0) }
    }
}
