/// The TIME_WAIT storm view of a run: failed connects by reason, the TIME_WAIT makers and the
/// local-port pressure per destination. Fed once per connection (its record), never per
/// transition; the same for a live run and a replay, which feed it the same records and the same
/// namespaces' ports (`port_range` records).
public struct ChurnTracker: Sendable {
    public private(set) var failedConnects: [ConnectError: UInt64] = [:]
    public private(set) var makers: TimeWaitMakers
    public private(set) var pressure: PortPressure
    /// Each namespace's ports once read; nil: unreadable (its forecast is left out).
    public private(set) var ports: [UInt32?: NamespacePorts?] = [:]
    public private(set) var warnings: UInt64 = 0
    static let maxNamespaces = 4096
    /// The namespace last found in `ports`, with its entry: client connections come in runs of
    /// one namespace, and each asked `ports` twice (a hash of the key each time).
    private var lastKnown: (netns: UInt32?, ports: NamespacePorts?)?

    public init(top: Int = TimeWaitMakers.defaultCapacity) {
        makers = TimeWaitMakers(capacity: top)
        pressure = PortPressure(capacity: top)
    }

    public var failedConnectsTotal: UInt64 { failedConnects.values.reduce(0, +) }

    /// Counts a connection (from `RunSummary.record`).
    public mutating func record(_ c: ConnectionRecord) {
        if let e = c.connectError { failedConnects[e, default: 0] += 1 }
        makers.record(c)
    }

    /// Whether the ports of `c`'s namespace are needed and not known yet.
    /// `mutating` though it changes nothing: the live run calls it through a pointer, where a
    /// non-mutating call copies the whole tracker (~600 instructions a client connection).
    public mutating func needsPorts(_ c: ConnectionRecord) -> Bool {
        c.role == .client && known(c.identity.netns) == nil && ports.count < Self.maxNamespaces
    }

    /// The entry of `netns` in `ports` (nil: none yet), remembered for the next connection.
    mutating func known(_ netns: UInt32?) -> NamespacePorts?? {
        if let last = lastKnown, last.netns == netns { return .some(last.ports) }
        guard let entry = ports[netns] else { return nil }
        lastKnown = (netns, entry)
        return .some(entry)
    }

    public mutating func setPorts(_ p: NamespacePorts?, netns: UInt32?) {
        guard ports.index(forKey: netns) != nil || ports.count < Self.maxNamespaces else { return }
        ports[netns] = .some(p)
        lastKnown = (netns, p)
    }

    /// The pressure `c` adds to its destination, and a `port_pressure` record per level it
    /// crossed. Call after `record(c)` (the maker is read from the makers).
    public mutating func pressureWarnings(_ c: ConnectionRecord) -> [PortPressureRecord] {
        guard c.role == .client, let entry = known(c.identity.netns), let p = entry,
            let (reading, crossed) = pressure.record(c, ports: p), !crossed.isEmpty
        else { return [] }
        let d = reading.destination
        let maker = makers.topMaker(netns: d.netns, local: d.local, remote: d.remote, remotePort: d.remotePort, now: c.time)
        let advice = TimeWaitFacts.advice(maker: maker, reading: reading)
        warnings += UInt64(crossed.count)
        return crossed.map { PortPressureRecord(time: c.time, level: $0, reading: reading, maker: maker, advice: advice) }
    }

    /// A `census` record of namespace `netns` (written to the output, or read from a log): its
    /// open sockets per destination count as held ports from now on.
    public mutating func observe(censusOf netns: UInt32?, _ exhaustion: [CensusRecord.Exhaustion]) {
        pressure.observe(censusOf: netns, exhaustion)
    }

    /// The `churn` records for now: the top pairs active in the last 60 s, then `other`.
    public func churnRecords(now: WallTime) -> [ChurnRecord] {
        makers.views(now: now).map { ChurnRecord(time: now, view: $0) }
    }

    /// Destinations' pressure now (metrics, top).
    public func readings(now: WallTime) -> [PortPressure.Reading] {
        pressure.readings(now: now) { netns in ports[netns] ?? nil }
    }
}
