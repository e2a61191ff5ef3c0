/// Local-port pressure per destination (netns, laddr, raddr, rport) of client connections: ports
/// held against the namespace's usable ports, the steady state at the current rate, a forecast
/// of exhaustion, and a warning each time use crosses 50 % or 80 % or the forecast drops under
/// 60 s — before connect() fails. Held ports: the timewait sockets this destination's clients
/// made in the last 60 s (or, when tcp_tw_reuse applies, the last second: an older one is taken
/// again), counted by the tracer as connections close, plus the open (not TIME_WAIT) sockets to
/// it that the last census written found — a pool's connections hold their ports too (for one
/// source address: at most the census's busiest source's). Bounded like `TimeWaitMakers`.
public struct PortPressure: Sendable {
    public struct Destination: Hashable, Sendable {
        public var netns: UInt32?
        public var local: IPAddress
        public var remote: IPAddress
        public var remotePort: UInt16
        public init(netns: UInt32?, local: IPAddress, remote: IPAddress, remotePort: UInt16) {
            self.netns = netns
            self.local = local
            self.remote = remote
            self.remotePort = remotePort
        }

        /// One premixed word, as `TimeWaitMakers.Key` (this table too holds at most `capacity`
        /// rows); looked up once per client connection.
        var premix: Int {
            let l = PackedKey.words(local), r = PackedKey.words(remote)
            let m = PackedKey(
                a: UInt64(netns ?? 0) | UInt64(remotePort) << 32 | l.v6 << 48 | r.v6 << 49 | (netns == nil ? 0 : 1 << 50),
                b: l.high, c: l.low
            ).hash
            return PackedKey(a: UInt64(bitPattern: Int64(m)), b: r.high, c: r.low).hash
        }

        public func hash(into h: inout Hasher) { h.combine(premix) }
        /// What `Dictionary` hashes with: the premix mixed with the table's seed (as
        /// `TimeWaitMakers.Key`).
        public func _rawHashValue(seed: Int) -> Int { PackedKey.seeded(premix, seed: seed) }
    }

    /// One destination's pressure at one moment.
    public struct Reading: Hashable, Sendable {
        public var destination: Destination
        public var usable: Int
        /// Timewait sockets made in the hold time plus `open`.
        public var held: UInt64
        /// Of them, the open sockets the last census found.
        public var open: UInt64
        public var usePercent: Double
        /// New connections per second that got a port, over the last 10 s.
        public var connectsPerSecond: Double
        /// tcp_tw_reuse lets connect() take a TIME_WAIT port after 1 s (else it is held 60 s).
        public var reuse: Bool
        public var twReuse: Int?
        /// The rate at which the range is used up in the steady state: usable / hold time.
        public var exhaustedAtPerSecond: Double
        /// Seconds until no port is left at the current rate; nil: the steady state fits.
        public var forecastSeconds: Double?
        public var failedNoPort: UInt64
    }

    public enum Level: String, Sendable, CaseIterable, Hashable {
        case half = "use_50"
        case high = "use_80"
        case forecast = "forecast_under_60s"

        var bit: UInt8 {
            switch self {
            case .half: return 1
            case .high: return 2
            case .forecast: return 4
            }
        }
    }

    struct Entry: Sendable {
        var slots = SecondSlots(stride: 3)
        var firstSecond: Int64
        var lastSecond: Int64
        /// Levels warned about in this episode, one bit each (`Level.bit`).
        var warned: UInt8 = 0
    }

    enum Field { static let connects = 0, timeWait = 1, failedNoPort = 2 }

    /// A census's view of one destination: (netns, remote, rport).
    struct CensusKey: Hashable, Sendable {
        var netns: UInt32?
        var remote: IPAddress
        var remotePort: UInt16
    }

    public let capacity: Int
    var entries: [Destination: Entry] = [:]
    /// No entry was last active before this second: their oldest `lastSecond` when last looked
    /// at (entries' `lastSecond` only grows, and an entry replaced starts newer).
    var idleBound: Int64 = .min
    /// Open outbound sockets per destination at the last census of its namespace (bounded by
    /// the census's top list per namespace and `maxCensusDestinations` in all).
    var censusOpen: [CensusKey: UInt64] = [:]
    static let maxCensusDestinations = 4096
    /// Client connections to destinations not tracked (table full).
    public private(set) var untracked: UInt64 = 0

    public static let warnPercents: (half: Double, high: Double) = (50, 80)
    public static let warnForecastSeconds = 60.0

    public init(capacity: Int = TimeWaitMakers.defaultCapacity) { self.capacity = max(1, capacity) }

    /// A census of namespace `netns` (a `census` record's `port_exhaustion`): each destination's
    /// open sockets from then on, in place of the namespace's previous census. For one source
    /// address, at most what the busiest source holds.
    public mutating func observe(censusOf netns: UInt32?, _ exhaustion: [CensusRecord.Exhaustion]) {
        censusOpen = censusOpen.filter { $0.key.netns != netns }
        for x in exhaustion where x.open > 0 && censusOpen.count < Self.maxCensusDestinations {
            censusOpen[CensusKey(netns: netns, remote: x.remote, remotePort: x.remotePort)] = min(x.open, x.maxPerLocalAddress)
        }
    }

    public static func destination(_ c: ConnectionRecord) -> Destination {
        Destination(netns: c.identity.netns, local: c.identity.local, remote: c.identity.remote, remotePort: c.identity.remotePort)
    }

    /// Counts a client connection; returns its destination's reading and the levels it crossed
    /// just now (each warned once until the pressure falls back). `ports`: its namespace's.
    public mutating func record(_ c: ConnectionRecord, ports: NamespacePorts) -> (Reading, [Level])? {
        guard c.role == .client else { return nil }
        let second = c.time.nanoseconds / 1_000_000_000
        var d = Self.destination(c)
        if c.connectError == .addressNotAvailable && d.local.isUnspecified,
            let known = entries.keys.first(where: { $0.netns == d.netns && $0.remote == d.remote && $0.remotePort == d.remotePort })
        {
            d = known  // no port, and no source address chosen either: the destination's row
        }
        var found = entries.index(forKey: d)
        if found == nil {
            if entries.count >= capacity {
                // The scan only when `idleBound` allows an idle entry (in a storm to many
                // destinations, once a second at most, not once per connection).
                let limit = second - Int64(SecondSlots.span)
                guard idleBound <= limit, let idle = entries.min(by: { $0.value.lastSecond < $1.value.lastSecond }) else {
                    untracked += 1
                    return nil
                }
                idleBound = idle.value.lastSecond
                guard idleBound <= limit else {
                    untracked += 1
                    return nil
                }
                entries[idle.key] = nil
            }
            entries[d] = Entry(firstSecond: second, lastSecond: second)
            idleBound = min(idleBound, second)
            found = entries.index(forKey: d)
        }
        // Changed in place (a copy out of the dictionary would copy its slots on every connection).
        let i = found!
        entries.values[i].lastSecond = max(entries.values[i].lastSecond, second)
        if c.connectError == .addressNotAvailable {
            entries.values[i].slots.add(Field.failedNoPort, second: second)
        } else {
            entries.values[i].slots.add(Field.connects, second: second)
            if c.timeWait { entries.values[i].slots.add(Field.timeWait, second: second) }
        }
        let r = reading(d, entries.values[i], ports: ports, now: second)
        var crossed: [Level] = []
        if r.usePercent < Self.warnPercents.half * 0.8 && r.forecastSeconds == nil && entries.values[i].warned != 0 {
            entries.values[i].warned = 0  // fell back: warn again
        }
        let warned = entries.values[i].warned
        for level in Level.allCases where warned & level.bit == 0 {
            let on: Bool
            switch level {
            case .half: on = r.usePercent >= Self.warnPercents.half
            case .high: on = r.usePercent >= Self.warnPercents.high
            case .forecast: on = r.forecastSeconds.map { $0 < Self.warnForecastSeconds } ?? false
            }
            if on {
                entries.values[i].warned |= level.bit
                crossed.append(level)
            }
        }
        return (r, crossed)
    }

    func reading(_ d: Destination, _ e: Entry, ports: NamespacePorts, now: Int64) -> Reading {
        let reuse = ports.reuseApplies(local: d.local, remote: d.remote)
        let hold = reuse ? 1 : SecondSlots.span
        let open = censusOpen[CensusKey(netns: d.netns, remote: d.remote, remotePort: d.remotePort)] ?? 0
        let held = e.slots.sum(Field.timeWait, window: hold, now: now) + open
        let usable = ports.usable
        let span = Double(max(1, min(Int64(TimeWaitMakers.shortWindow), now - e.firstSecond + 1)))
        let rate = Double(e.slots.sum(Field.connects, window: TimeWaitMakers.shortWindow, now: now)) / span
        // Open connections' ports are not free for the churn: the steady state fits in the rest.
        let exhaustedAt = Double(max(0, usable - Int(clamping: open))) / Double(hold)
        var forecast: Double?
        if rate > 0 && rate >= exhaustedAt {
            forecast = max(0, Double(usable) - Double(held)) / rate
        }
        return Reading(
            destination: d, usable: usable, held: held, open: open,
            usePercent: usable == 0 ? 100 : min(100, Double(held) * 100 / Double(usable)), connectsPerSecond: rate,
            reuse: reuse, twReuse: ports.twReuse, exhaustedAtPerSecond: exhaustedAt, forecastSeconds: forecast,
            failedNoPort: e.slots.sum(Field.failedNoPort, window: SecondSlots.span, now: now))
    }

    /// Destinations with activity in the last 60 s, most used first.
    public func readings(now: WallTime, ports: (UInt32?) -> NamespacePorts?) -> [Reading] {
        let second = now.nanoseconds / 1_000_000_000
        return entries.compactMap { d, e -> Reading? in
            guard e.lastSecond > second - Int64(SecondSlots.span), let p = ports(d.netns) else { return nil }
            return reading(d, e, ports: p, now: second)
        }.sorted { ($0.usePercent, $0.connectsPerSecond) > ($1.usePercent, $1.connectsPerSecond) }
    }
}
