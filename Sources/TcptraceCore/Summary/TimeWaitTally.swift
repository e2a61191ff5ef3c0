/// TIME_WAIT entries by remote endpoint (address, port), bounded: past `capacity` distinct
/// endpoints, new ones are counted under `other`.
public struct TimeWaitTally: Sendable {
    public struct Endpoint: Hashable, Sendable {
        public var remote: IPAddress
        public var remotePort: UInt16
        public init(remote: IPAddress, remotePort: UInt16) {
            self.remote = remote
            self.remotePort = remotePort
        }

        /// Whole words, as `TimeWaitMakers.Key` (looked up once per TIME_WAIT connection).
        public func hash(into h: inout Hasher) {
            let r = PackedKey.words(remote)
            h.combine(UInt64(remotePort) | r.v6 << 16)
            h.combine(r.high)
            h.combine(r.low)
        }
    }

    public let capacity: Int
    public private(set) var total: UInt64 = 0
    public private(set) var other: UInt64 = 0
    public private(set) var byEndpoint: [Endpoint: UInt64] = [:]

    public init(capacity: Int = 10_000) { self.capacity = capacity }

    public mutating func record(_ c: ConnectionRecord) {
        guard c.timeWait else { return }
        total += 1
        let key = Endpoint(remote: c.identity.remote, remotePort: c.identity.remotePort)
        // One hash of the key, not two: this runs once per TIME_WAIT connection.
        if let i = byEndpoint.index(forKey: key) {
            byEndpoint.values[i] += 1
        } else if byEndpoint.count < capacity {
            byEndpoint[key] = 1
        } else {
            other += 1
        }
    }

    /// The `n` endpoints with the most TIME_WAIT entries.
    public func top(_ n: Int) -> [(endpoint: Endpoint, count: UInt64)] {
        byEndpoint.map { (endpoint: $0.key, count: $0.value) }
            .sorted { ($1.count, $0.endpoint.remotePort) < ($0.count, $1.endpoint.remotePort) }
            .prefix(n).map { $0 }
    }
}
