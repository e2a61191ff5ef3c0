/// The numbers that turn evidence into severities. Every one has a name, a default and a
/// meaning (the README's thresholds table is printed from `all`), and can be set with
/// `--threshold NAME=VALUE` on `diagnose`, `trace`, `top` and `report`.
public struct FindingThresholds: Hashable, Sendable {
    public struct Entry: Sendable {
        public var name: String
        public var unit: String
        public var meaning: String
        public nonisolated(unsafe) var keyPath: WritableKeyPath<FindingThresholds, Double>
    }

    /// A process holding this many lingerers (or leak-group sockets) is critical; 1 is a warning.
    public var leakCriticalSockets: Double = 10
    /// A lingerer older than this (seconds) is critical.
    public var leakCriticalAgeSeconds: Double = 300
    /// CLOSE_WAIT sockets in one namespace's census, holder unknown, for a warning (fewer: info).
    public var closeWaitSocketsWarning: Double = 100
    /// Local-port use towards one destination, percent of the usable range.
    public var portUseWarningPercent: Double = 50
    public var portUseCriticalPercent: Double = 80
    /// Seconds until the ports run out at the current rate, for critical.
    public var portForecastCriticalSeconds: Double = 60
    /// TIME_WAIT made per second towards one destination for an info finding (below: nothing).
    public var timeWaitRateInfo: Double = 20
    /// Failed connects to one destination (other than for want of a port) for a warning...
    public var failedConnectsWarning: Double = 10
    /// ...and their share of the connects, percent.
    public var failedConnectsWarningPercent: Double = 5
    /// Lost events: any is a warning; this share of the events (percent) is critical.
    public var lostEventsCriticalPercent: Double = 1
    /// Growth of TcpExtListenOverflows + TcpExtListenDrops during the run: warning at any, critical at this.
    public var listenOverflowCritical: Double = 100
    /// Retransmissions towards one peer: at least this many and...
    public var retransmissionsWarning: Double = 20
    /// ...at least this many per 100 connections, for a warning.
    public var retransmissionsPer100Connections: Double = 10
    /// Median smoothed RTT to one peer (ms) for a warning.
    public var rttWarningMilliseconds: Double = 200
    /// 90th percentile connect latency to one destination (ms) for a warning...
    public var slowConnectWarningMilliseconds: Double = 1000
    /// ...over at least this many connects.
    public var minimumConnects: Double = 5

    public init() {}

    nonisolated(unsafe) public static let all: [Entry] = [
        Entry(name: "leak_critical_sockets", unit: "sockets", meaning: "CLOSE_WAIT sockets one process leaks for critical (1 is a warning)", keyPath: \.leakCriticalSockets),
        Entry(name: "leak_critical_age", unit: "s", meaning: "age of its oldest leaked socket for critical", keyPath: \.leakCriticalAgeSeconds),
        Entry(name: "close_wait_sockets_warning", unit: "sockets", meaning: "CLOSE_WAIT sockets in one namespace, holder not known, for a warning (fewer: info)", keyPath: \.closeWaitSocketsWarning),
        Entry(name: "port_use_warning", unit: "%", meaning: "local ports held towards one destination, of the usable range, for a warning", keyPath: \.portUseWarningPercent),
        Entry(name: "port_use_critical", unit: "%", meaning: "the same, for critical", keyPath: \.portUseCriticalPercent),
        Entry(name: "port_forecast_critical", unit: "s", meaning: "time until the local ports run out at the current rate, for critical", keyPath: \.portForecastCriticalSeconds),
        Entry(name: "time_wait_rate_info", unit: "per_s", meaning: "TIME_WAIT made per second towards one destination for an info finding", keyPath: \.timeWaitRateInfo),
        Entry(name: "failed_connects_warning", unit: "count", meaning: "failed connects to one destination (other than EADDRNOTAVAIL, always critical) for a warning", keyPath: \.failedConnectsWarning),
        Entry(name: "failed_connects_warning_pct", unit: "%", meaning: "and their share of its connects", keyPath: \.failedConnectsWarningPercent),
        Entry(name: "lost_events_critical_pct", unit: "%", meaning: "lost events, of all events, for critical (any loss is a warning)", keyPath: \.lostEventsCriticalPercent),
        Entry(name: "listen_overflow_critical", unit: "count", meaning: "growth of TcpExtListenOverflows + TcpExtListenDrops in a namespace during the run for critical (any growth is a warning)", keyPath: \.listenOverflowCritical),
        Entry(name: "retransmissions_warning", unit: "count", meaning: "retransmissions towards one peer for a warning, when also", keyPath: \.retransmissionsWarning),
        Entry(name: "retransmissions_per_100", unit: "count", meaning: "retransmissions per 100 of its connections", keyPath: \.retransmissionsPer100Connections),
        Entry(name: "rtt_warning", unit: "ms", meaning: "median smoothed RTT towards one peer for a warning", keyPath: \.rttWarningMilliseconds),
        Entry(name: "slow_connect_warning", unit: "ms", meaning: "90th percentile connect latency to one destination for a warning", keyPath: \.slowConnectWarningMilliseconds),
        Entry(name: "min_connects", unit: "count", meaning: "connections a per-destination rate or percentile needs before it counts", keyPath: \.minimumConnects),
    ]

    /// `NAME=VALUE` (e.g. `port_use_warning=40`); the error says what is wrong in one line.
    public mutating func set(_ assignment: String) throws(ValueParseError) {
        let parts = assignment.split(separator: "=", maxSplits: 1)
        guard parts.count == 2 else {
            throw .invalid("--threshold '\(assignment)': give NAME=VALUE, e.g. port_use_warning=40")
        }
        guard let entry = Self.all.first(where: { $0.name == parts[0] }) else {
            throw .invalid("--threshold: unknown name '\(parts[0])'; known: \(Self.all.map(\.name).joined(separator: ", "))")
        }
        guard let value = Double(parts[1]), value.isFinite, value >= 0 else {
            throw .invalid("--threshold \(parts[0]): '\(parts[1])' is not a number >= 0")
        }
        self[keyPath: entry.keyPath] = value
    }

    /// The README's table.
    public static var markdown: String {
        var s = "| name | default | unit | meaning |\n|---|---|---|---|\n"
        let d = FindingThresholds()
        for e in all {
            let v = d[keyPath: e.keyPath]
            s += "| `\(e.name)` | \(v == v.rounded() ? String(Int(v)) : String(v)) | \(e.unit) | \(e.meaning) |\n"
        }
        return s
    }
}
