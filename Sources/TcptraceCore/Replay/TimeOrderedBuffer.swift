/// Transitions held back until no earlier-stamped one can still come: a binary min-heap on
/// (time, arrival), so equal times keep their order.
struct TimeOrderedBuffer: Sendable {
    let capacity: Int
    var heap: [(key: WallTime, seq: UInt64, t: Transition)] = []
    var seq: UInt64 = 0
    private(set) var newest: WallTime?

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    var isEmpty: Bool { heap.isEmpty }
    var isOverCapacity: Bool { heap.count > capacity }
    var oldestTime: WallTime? { heap.first?.key }

    static func less(_ a: (key: WallTime, seq: UInt64, t: Transition), _ b: (key: WallTime, seq: UInt64, t: Transition)) -> Bool {
        a.key != b.key ? a.key < b.key : a.seq < b.seq
    }

    mutating func insert(_ t: Transition) {
        if newest.map({ t.time > $0 }) ?? true { newest = t.time }
        heap.append((t.time, seq, t))
        seq &+= 1
        var c = heap.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            guard Self.less(heap[c], heap[p]) else { break }
            heap.swapAt(c, p)
            c = p
        }
    }

    mutating func removeOldest() -> Transition {
        let top = heap[0].t
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < heap.count && Self.less(heap[l], heap[m]) { m = l }
                if r < heap.count && Self.less(heap[r], heap[m]) { m = r }
                if m == p { break }
                heap.swapAt(p, m)
                p = m
            }
        }
        if heap.isEmpty { newest = nil }
        return top
    }
}
