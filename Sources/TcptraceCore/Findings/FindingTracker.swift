/// Open findings over time: each evaluation is compared with the last, and what changed becomes
/// a `finding` record — opened, severity changed, closed. First seen is kept from the opening.
/// Bounded: at most `capacity` open findings (the least severe are not tracked past it).
public struct FindingTracker: Sendable {
    public let capacity: Int
    public private(set) var open: [String: Finding] = [:]
    public init(capacity: Int = 256) { self.capacity = capacity }

    /// Findings now; returns the records for what changed, most severe first.
    public mutating func update(_ findings: [Finding], at now: WallTime) -> [FindingRecord] {
        var out: [FindingRecord] = []
        var seen: Set<String> = []
        for var f in Finding.ranked(findings).prefix(capacity) {
            seen.insert(f.id)
            if let old = open[f.id] {
                f.firstSeen = min(old.firstSeen, f.firstSeen)
                open[f.id] = f
                if old.severity != f.severity { out.append(FindingRecord(event: .changed, time: now, finding: f)) }
            } else {
                open[f.id] = f
                out.append(FindingRecord(event: .open, time: now, finding: f))
            }
        }
        for (id, f) in open where !seen.contains(id) {
            open[id] = nil
            var closed = f
            closed.lastSeen = max(f.lastSeen, now)
            out.append(FindingRecord(event: .closed, time: now, finding: closed))
        }
        return out
    }

    /// The open findings, most severe first.
    public var ranked: [Finding] { Finding.ranked(Array(open.values)) }

    /// Open findings by kind and severity (the metrics' bounded label set).
    public var counts: [FindingKind: [FindingSeverity: Int]] {
        var c: [FindingKind: [FindingSeverity: Int]] = [:]
        for f in open.values { c[f.kind, default: [:]][f.severity, default: 0] += 1 }
        return c
    }
}
