/// CLOSE_WAIT lingerers grouped by holder, endpoint, cause and opener stack, with each group's
/// size, oldest age, arrivals and departures over the last minute and trend. Pure: fed the
/// lingerers as they are reported and as they leave, with the time; says which `leak` records
/// are due. Bounded: `maxGroups` groups, the sockets of any more folded into one group per
/// role and cause; `maxSockets` sockets in all (the rest counted in `unkept`).
public struct LeakGroups: Sendable {
    /// What makes two lingerers one leak.
    public struct Key: Hashable, Sendable {
        public var holder: Owner?
        public var container: String?
        public var netns: UInt32?
        public var role: LeakRole
        public var address: IPAddress
        public var port: UInt16
        public var cause: LeakCause
        public var stack: UInt32?
        public var opener: String?
        public init(
            holder: Owner?, container: String? = nil, netns: UInt32? = nil, role: LeakRole, address: IPAddress, port: UInt16,
            cause: LeakCause, stack: UInt32? = nil, opener: String? = nil
        ) {
            self.holder = holder
            self.container = container
            self.netns = netns
            self.role = role
            self.address = address
            self.port = port
            self.cause = cause
            self.stack = stack
            self.opener = opener
        }

        /// The group the sockets of groups beyond the bound go to.
        var folded: Key { Key(holder: nil, role: role, address: .v4(0), port: 0, cause: cause) }
    }

    /// Counts over the last minute, in six 10-second buckets.
    struct MinuteCount: Sendable {
        static let bucket: Int64 = 10_000_000_000
        var buckets: [(index: Int64, n: UInt64)] = []
        mutating func add(at t: WallTime) {
            let i = t.nanoseconds / Self.bucket
            if let last = buckets.last, last.index == i {
                buckets[buckets.count - 1].n += 1
            } else {
                buckets.append((i, 1))
            }
            buckets.removeAll { $0.index <= i - 6 }
        }
        func total(at t: WallTime) -> UInt64 {
            let i = t.nanoseconds / Self.bucket
            return buckets.reduce(0) { $0 + ($1.index > i - 6 ? $1.n : 0) }
        }
    }

    struct Group: Sendable {
        var id: UInt32
        var key: Key
        var folded: Bool
        /// Each socket's entry into CLOSE_WAIT, and whether that is a lower bound.
        var members: [UInt64: (entered: WallTime, lowerBound: Bool)] = [:]
        var arrived = MinuteCount()
        var left = MinuteCount()
        /// What the last record said (nil: nothing yet).
        var said: (sockets: UInt64, trend: LeakTrend, at: WallTime)?
    }

    public let maxGroups: Int
    public let maxSockets: Int
    /// JSON `interval` records this often per group.
    public let intervalNanoseconds: Int64
    private var groups: [UInt32: Group] = [:]
    private var groupOfKey: [Key: UInt32] = [:]
    private var groupOfSocket: [UInt64: UInt32] = [:]
    private var nextID: UInt32 = 1
    /// Lingerers not kept: more than `maxSockets` at once.
    public private(set) var unkept: UInt64 = 0

    public init(maxGroups: Int = 300, maxSockets: Int = 100_000, intervalNanoseconds: Int64 = 60_000_000_000) {
        self.maxGroups = maxGroups
        self.maxSockets = maxSockets
        self.intervalNanoseconds = intervalNanoseconds
    }

    public var isEmpty: Bool { groups.isEmpty }
    public var socketCount: Int { groupOfSocket.count }

    /// A lingerer just reported (crossed the threshold, or found at start-up).
    public mutating func add(
        cookie: UInt64, key: Key, entered: WallTime, lowerBound: Bool, now: WallTime
    ) {
        guard groupOfSocket[cookie] == nil else { return }
        guard groupOfSocket.count < maxSockets else {
            unkept += 1
            return
        }
        var k = key
        var folded = false
        if groupOfKey[k] == nil && groups.count >= maxGroups {
            k = key.folded
            folded = true
        }
        let id: UInt32
        if let existing = groupOfKey[k] {
            id = existing
        } else {
            id = nextID
            nextID &+= 1
            groupOfKey[k] = id
            groups[id] = Group(id: id, key: k, folded: folded)
        }
        groups[id]!.members[cookie] = (entered, lowerBound)
        groups[id]!.arrived.add(at: now)
        groupOfSocket[cookie] = id
    }

    /// A lingerer left CLOSE_WAIT (closed, reset, or gone from the dump).
    public mutating func remove(cookie: UInt64, now: WallTime) {
        guard let id = groupOfSocket.removeValue(forKey: cookie) else { return }
        groups[id]!.members[cookie] = nil
        groups[id]!.left.add(at: now)
    }

    /// The records due now: new groups, material changes, JSON intervals (`intervals`: whether
    /// to include those), and groups now empty (which are then forgotten).
    public mutating func due(now: WallTime) -> [LeakRecord] {
        var out: [LeakRecord] = []
        for id in groups.keys.sorted() {
            let g = groups[id]!
            var r = record(g, now: now)
            if let said = g.said {
                if r.sockets == 0 {
                    r.event = .resolved
                } else if Self.differs(r.sockets, said.sockets) || r.trend != said.trend {
                    r.event = .changed
                } else if now.nanoseconds - said.at.nanoseconds >= intervalNanoseconds {
                    r.event = .interval
                } else {
                    continue
                }
            } else {
                if r.sockets == 0 { continue }  // left before it was said: keep for the minute counts
                r.event = .appeared
            }
            out.append(r)
            if r.event == .resolved {
                groups[id] = nil
                groupOfKey[g.key] = nil
            } else {
                groups[id]!.said = (r.sockets, r.trend, now)
            }
        }
        return out
    }

    /// Moved by a tenth, or by one when below ten.
    static func differs(_ a: UInt64, _ b: UInt64) -> Bool {
        let d = a > b ? a - b : b - a
        return d > 0 && d * 10 >= max(b, 1)
    }

    /// Every group with sockets now, largest first (`exit` records, the summary, top).
    public func current(now: WallTime, event: LeakRecord.Event = .exit) -> [LeakRecord] {
        groups.values.filter { !$0.members.isEmpty }.map { g in
            var r = record(g, now: now)
            r.event = event
            return r
        }.sorted(by: LeakRecord.largerFirst)
    }

    /// The group of a socket (for its key's stack id, in tests).
    public func key(ofSocket cookie: UInt64) -> Key? {
        groupOfSocket[cookie].flatMap { groups[$0]?.key }
    }

    func record(_ g: Group, now: WallTime) -> LeakRecord {
        var r = LeakRecord()
        r.time = now
        r.group = g.id
        r.holder = g.key.holder
        r.container = g.key.container
        r.netns = g.key.netns
        r.role = g.key.role
        r.address = g.key.address
        r.port = g.key.port
        r.cause = g.key.cause
        r.stack = g.key.stack
        r.opener = g.key.opener
        r.folded = g.folded
        r.sockets = UInt64(g.members.count)
        if let oldest = g.members.values.min(by: { $0.entered < $1.entered }) {
            r.oldestAgeNanoseconds = UInt64(max(0, now.nanoseconds - oldest.entered.nanoseconds))
            r.ageIsLowerBound = oldest.lowerBound
        }
        r.newPerMinute = g.arrived.total(at: now)
        r.closedPerMinute = g.left.total(at: now)
        r.trend = r.newPerMinute > r.closedPerMinute ? .growing : r.newPerMinute < r.closedPerMinute ? .draining : .steady
        return r
    }
}

extension LeakRecord {
    /// Most sockets first, then the oldest, then the group number (a stable order).
    public static func largerFirst(_ a: LeakRecord, _ b: LeakRecord) -> Bool {
        (a.sockets, a.oldestAgeNanoseconds, b.group) > (b.sockets, b.oldestAgeNanoseconds, a.group)
    }
}

/// The groups a recorded log ends with (`report`), or a live run's: the latest record of each,
/// and the stacks they name. Bounded like `LeakGroups`.
public struct LeakBook: Sendable {
    public private(set) var latest: [UInt32: LeakRecord] = [:]
    public private(set) var stacks: [UInt32: StackRecord] = [:]
    public let maxGroups: Int
    public let maxStacks: Int

    public init(maxGroups: Int = 1_000, maxStacks: Int = 1_000) {
        self.maxGroups = maxGroups
        self.maxStacks = maxStacks
    }

    public mutating func note(_ r: LeakRecord) {
        if r.event == .resolved {
            latest[r.group] = nil
        } else if latest[r.group] != nil || latest.count < maxGroups {
            latest[r.group] = r
        }
    }

    public mutating func note(_ s: StackRecord) {
        if stacks[s.id] != nil || stacks.count < maxStacks { stacks[s.id] = s }
    }

    /// Groups still there, largest first.
    public var groups: [LeakRecord] { latest.values.filter { $0.sockets > 0 }.sorted(by: LeakRecord.largerFirst) }
}
