/// CLOSE_WAIT lingerers for metrics, by holder command name and container: open now (reported
/// and not yet seen leaving CLOSE_WAIT) and total reported. Bounded: at most `capacity` label
/// pairs; lingerers of further pairs count under comm and container `other`.
public struct LingererTally: Sendable {
    public struct Key: Hashable, Sendable, Comparable {
        public var comm: String
        public var container: String
        public init(comm: String, container: String) {
            self.comm = comm
            self.container = container
        }
        public static func < (a: Key, b: Key) -> Bool { (a.comm, a.container) < (b.comm, b.container) }
        public static let other = Key(comm: "other", container: "other")
    }

    public static let capacity = 20
    /// Lingerers open now, by cookie; bounded like the connection table (`limit`).
    private var open: [UInt64: Key] = [:]
    private let limit: Int
    public private(set) var total: [Key: UInt64] = [:]
    public private(set) var openNow: [Key: UInt64] = [:]

    public init(limit: Int = 100_000) { self.limit = limit }

    /// `container`: the container's short name, nil for none (the host).
    public mutating func record(_ l: LingererRecord, container: String?) {
        switch l.event {
        case .lingering:
            guard open[l.identity.cookie] == nil else { return }
            var key = Key(comm: l.holder.map { $0.process.comm.description } ?? "?", container: container ?? "")
            if total[key] == nil && total.count >= Self.capacity { key = .other }
            total[key, default: 0] += 1
            if open.count >= limit {  // lingerers evicted from the table never say closed
                open.removeAll(keepingCapacity: true)
                openNow.removeAll(keepingCapacity: true)
            }
            open[l.identity.cookie] = key
            openNow[key, default: 0] += 1
        case .closed:
            guard let key = open.removeValue(forKey: l.identity.cookie) else { return }
            openNow[key, default: 0] -= 1
        case .openAtEnd:
            break
        }
    }
}
