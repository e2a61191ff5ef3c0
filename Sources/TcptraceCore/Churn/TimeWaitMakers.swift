/// Who makes TIME_WAIT, and towards where: every client connection and every connection that
/// closed into a timewait socket, charged to its owner (pid, comm, cgroup) and destination
/// (netns, laddr, raddr, rport), counted per second over the last 60 s and in totals. Bounded:
/// at most `capacity` rows; a new pair finds room only where a row has been idle for 60 s
/// (its totals go to `other`), otherwise it is counted under `other`. Fed once per connection.
public struct TimeWaitMakers: Sendable {
    public struct Key: Hashable, Sendable {
        public var owner: Owner
        public var cgroup: UInt64?
        public var netns: UInt32?
        public var local: IPAddress
        public var remote: IPAddress
        public var remotePort: UInt16
        public init(owner: Owner, cgroup: UInt64?, netns: UInt32?, local: IPAddress, remote: IPAddress, remotePort: UInt16) {
            self.owner = owner
            self.cgroup = cgroup
            self.netns = netns
            self.local = local
            self.remote = remote
            self.remotePort = remotePort
        }

        /// One word mixed from every field (multiply-xorshift), then Swift's seeded Hasher: the
        /// synthesized field-by-field hash cost ~780 instructions a lookup, once per connection.
        /// The premix is not seeded, so peers choosing addresses could make keys collide, but
        /// the table holds at most `capacity` (64) rows: a lookup compares at most that many.
        /// Consistent with `==`: equal keys mix the same words.
        var premix: Int {
            let l = PackedKey.words(local), r = PackedKey.words(remote)
            var m = PackedKey(
                a: UInt64(owner.pid) | UInt64(remotePort) << 32 | l.v6 << 48 | r.v6 << 49
                    | (cgroup == nil ? 0 : 1 << 50) | (netns == nil ? 0 : 1 << 51),
                b: cgroup ?? 0, c: UInt64(netns ?? 0)
            ).hash
            m = PackedKey(a: UInt64(bitPattern: Int64(m)), b: l.high, c: l.low).hash
            m = PackedKey(a: UInt64(bitPattern: Int64(m)), b: r.high, c: r.low).hash
            m = PackedKey(a: UInt64(bitPattern: Int64(m)), b: owner.comm.words.0, c: owner.comm.words.1).hash
            if owner.comm.length > 16 {
                m = PackedKey(a: UInt64(bitPattern: Int64(m)), b: owner.comm.words.2, c: owner.comm.words.3).hash
                m = PackedKey(a: UInt64(bitPattern: Int64(m)), b: owner.comm.words.4, c: owner.comm.words.5).hash
            }
            return m
        }

        public func hash(into h: inout Hasher) { h.combine(premix) }
        /// What `Dictionary` hashes with (a `Hashable` requirement with a default that runs
        /// `hash(into:)` through SipHash, ~100 instructions): the premix mixed with the
        /// table's per-instance seed, so bucket order still differs between tables and runs.
        public func _rawHashValue(seed: Int) -> Int { PackedKey.seeded(premix, seed: seed) }
    }

    /// Whole-run counts of one row.
    public struct Totals: Hashable, Sendable {
        public var connections: UInt64 = 0
        public var timeWait: UInt64 = 0
        public var closedByUs: UInt64 = 0
        public var failed: UInt64 = 0
        public var lifetimeBins = [UInt64](repeating: 0, count: LifetimeBins.count)
        public init() {}
        mutating func add(_ o: Totals) {
            connections += o.connections
            timeWait += o.timeWait
            closedByUs += o.closedByUs
            failed += o.failed
            for i in 0..<lifetimeBins.count { lifetimeBins[i] += o.lifetimeBins[i] }
        }
    }

    struct Row: Sendable {
        var key: Key
        var slots = SecondSlots(stride: Field.lifetime + LifetimeBins.count)
        var firstSecond: Int64
        var lastSecond: Int64
        var totals = Totals()
    }

    enum Field {
        static let connections = 0, timeWait = 1, closedByUs = 2, failed = 3, lifetime = 4
    }

    public static let defaultCapacity = 64
    public let capacity: Int
    var rows: [Row] = []
    var index: [Key: Int] = [:]
    var other: Row
    /// No row was last active before this second: its rows' oldest `lastSecond` when last
    /// looked at (rows' `lastSecond` only grows, and a row replaced starts newer).
    var idleBound: Int64 = .min
    /// Whether anything was folded into `other`.
    public private(set) var hasOther = false

    public init(capacity: Int = TimeWaitMakers.defaultCapacity) {
        self.capacity = max(1, capacity)
        other = Row(key: Key(owner: Owner(pid: 0, comm: CommName("other")), cgroup: nil, netns: nil, local: .v4(0), remote: .v4(0), remotePort: 0), firstSecond: .max, lastSecond: .min)
    }

    /// Whether a connection is charged: a client's (rates, failed connects, local ports) or one
    /// that left a timewait socket.
    public static func charges(_ c: ConnectionRecord) -> Bool {
        c.role == .client || c.timeWait
    }

    public static func key(_ c: ConnectionRecord) -> Key {
        Key(
            owner: c.owner ?? Owner(pid: 0, comm: CommName("?")), cgroup: c.identity.cgroup, netns: c.identity.netns,
            local: c.identity.local, remote: c.identity.remote, remotePort: c.identity.remotePort)
    }

    public mutating func record(_ c: ConnectionRecord) {
        guard Self.charges(c) else { return }
        let second = c.time.nanoseconds / 1_000_000_000
        let key = Self.key(c)
        if let i = index[key] {
            Self.count(c, into: &rows[i], second: second)
        } else if rows.count < capacity {
            index[key] = rows.count
            rows.append(Row(key: key, firstSecond: second, lastSecond: second))
            idleBound = min(idleBound, second)
            Self.count(c, into: &rows[rows.count - 1], second: second)
        } else if let idle = idleRow(lastActiveBy: second - Int64(SecondSlots.span)) {
            // Idle for a whole window: nothing of it is in any window; its totals stay in `other`.
            fold(rows[idle])
            index[rows[idle].key] = nil
            index[key] = idle
            rows[idle] = Row(key: key, firstSecond: second, lastSecond: second)
            idleBound = min(idleBound, second)
            Self.count(c, into: &rows[idle], second: second)
        } else {
            hasOther = true
            other.firstSecond = min(other.firstSecond, second)
            Self.count(c, into: &other, second: second)
        }
    }

    /// A full table's row last active at or before `limit`, if any. The scan runs only when
    /// `idleBound` allows one (in a storm from many sources, once a second at most, not once
    /// per connection).
    mutating func idleRow(lastActiveBy limit: Int64) -> Int? {
        guard idleBound <= limit, let i = rows.indices.min(by: { rows[$0].lastSecond < rows[$1].lastSecond }) else { return nil }
        idleBound = rows[i].lastSecond
        return idleBound <= limit ? i : nil
    }

    mutating func fold(_ r: Row) {
        hasOther = true
        other.totals.add(r.totals)
        other.firstSecond = min(other.firstSecond, r.firstSecond)
        other.lastSecond = max(other.lastSecond, r.lastSecond)
    }

    static func count(_ c: ConnectionRecord, into r: inout Row, second: Int64) {
        r.lastSecond = max(r.lastSecond, second)
        r.totals.connections += 1
        r.slots.add(Field.connections, second: second)
        if c.timeWait {
            r.totals.timeWait += 1
            r.slots.add(Field.timeWait, second: second)
        }
        if c.closedBy == .local {
            r.totals.closedByUs += 1
            r.slots.add(Field.closedByUs, second: second)
        }
        if c.connectError != nil {
            r.totals.failed += 1
            r.slots.add(Field.failed, second: second)
        }
        if let life = c.lifetimeNanoseconds, c.connectError == nil {
            let b = LifetimeBins.bin(nanoseconds: life)
            r.totals.lifetimeBins[b] += 1
            r.slots.add(Field.lifetime + b, second: second)
        }
    }

    /// One row seen over a window of `seconds` ending at `now`.
    public struct Window: Hashable, Sendable {
        public var connectionsPerSecond: Double
        public var timeWaitPerSecond: Double
        /// Connections this side closed first, in percent; nil without connections.
        public var closedByUsPercent: Double?
        public var medianLifetimeNanoseconds: UInt64?
        public var failed: UInt64
    }

    /// A row as the `churn` record and `top` show it.
    public struct View: Hashable, Sendable {
        public var key: Key
        public var isOther: Bool
        public var short: Window
        public var long: Window
        /// Timewait sockets made in the last 60 s (TCP_TIMEWAIT_LEN): alive now, unless reused.
        public var timeWaitAlive: UInt64
        public var totals: Totals
    }

    public static let shortWindow = 10
    public static let longWindow = 60

    static func window(_ r: Row, seconds: Int, now: Int64) -> Window {
        let span = Double(max(1, min(Int64(seconds), now - r.firstSecond + 1)))
        let n = r.slots.sum(Field.connections, window: seconds, now: now)
        let closed = r.slots.sum(Field.closedByUs, window: seconds, now: now)
        return Window(
            connectionsPerSecond: Double(n) / span,
            timeWaitPerSecond: Double(r.slots.sum(Field.timeWait, window: seconds, now: now)) / span,
            closedByUsPercent: n == 0 ? nil : Double(closed) * 100 / Double(n),
            medianLifetimeNanoseconds: LifetimeBins.median(
                r.slots.sums(Field.lifetime..<(Field.lifetime + LifetimeBins.count), window: seconds, now: now)),
            failed: r.slots.sum(Field.failed, window: seconds, now: now))
    }

    static func view(_ r: Row, isOther: Bool, now: Int64) -> View {
        View(
            key: r.key, isOther: isOther, short: window(r, seconds: shortWindow, now: now),
            long: window(r, seconds: longWindow, now: now),
            timeWaitAlive: r.slots.sum(Field.timeWait, window: SecondSlots.span, now: now), totals: r.totals)
    }

    /// Rows with activity in the last 60 s, most timewait sockets alive first, then `other`.
    public func views(now: WallTime) -> [View] {
        let second = now.nanoseconds / 1_000_000_000
        var out = rows.filter { $0.lastSecond > second - Int64(SecondSlots.span) }.map { Self.view($0, isOther: false, now: second) }
        out.sort(by: Self.ranked)
        if hasOther && other.lastSecond > second - Int64(SecondSlots.span) {
            out.append(Self.view(other, isOther: true, now: second))
        }
        return out
    }

    /// Every row's whole-run totals, most timewait sockets first, then `other` (summary).
    public var totals: [(key: Key, isOther: Bool, totals: Totals)] {
        var out = rows.map { (key: $0.key, isOther: false, totals: $0.totals) }
        out.sort { a, b in
            (a.totals.timeWait, a.totals.connections, b.key.owner.pid) > (b.totals.timeWait, b.totals.connections, a.key.owner.pid)
        }
        if hasOther { out.append((other.key, true, other.totals)) }
        return out
    }

    /// The owner making the most timewait sockets alive now towards a destination.
    public func topMaker(netns: UInt32?, local: IPAddress, remote: IPAddress, remotePort: UInt16, now: WallTime) -> Owner? {
        let second = now.nanoseconds / 1_000_000_000
        var best: (Owner, UInt64)?
        for r in rows where r.key.netns == netns && r.key.remote == remote && r.key.remotePort == remotePort
            && (r.key.local == local || local.isUnspecified)
        {
            let n = r.slots.sum(Field.timeWait, window: SecondSlots.span, now: second)
            if n > 0 && n > (best?.1 ?? 0) { best = (r.key.owner, n) }
        }
        return best?.0
    }

    static func ranked(_ a: View, _ b: View) -> Bool {
        if a.timeWaitAlive != b.timeWaitAlive { return a.timeWaitAlive > b.timeWaitAlive }
        if a.totals.connections != b.totals.connections { return a.totals.connections > b.totals.connections }
        return a.key.owner.pid < b.key.owner.pid
    }
}
