/// Consecutive transitions of one socket in one piece, as the kernel program sends them when it
/// aggregates (bpf/tcptrace.h, struct tcptrace_batch): the last one complete, the earlier ones
/// as what changes from one to the next (states, time, duration). Every transition of the batch
/// has the last one's identity, owner and inode (the latest known values, which is what the
/// connection table keeps of them anyway); only the last carries the receive queue and counters,
/// and the earlier ones do not say the task in context (pid 0, empty comm).
public struct TransitionBatch: Sendable {
    public struct Step: Sendable {
        public var old: TCPState
        public var new: TCPState
        public var time: WallTime
        public var nanosecondsInOld: UInt64?
        public init(old: TCPState, new: TCPState, time: WallTime, nanosecondsInOld: UInt64?) {
            self.old = old
            self.new = new
            self.time = time
            self.nanosecondsInOld = nanosecondsInOld
        }
    }

    /// Most earlier transitions a batch holds.
    public static let maxEarlier = 7
    public var last: Transition
    private var steps: (Step, Step, Step, Step, Step, Step, Step)
    public private(set) var earlierCount = 0

    public init(last: Transition) {
        self.last = last
        let none = Step(old: TCPState(rawValue: 0), new: TCPState(rawValue: 0), time: WallTime(nanoseconds: 0), nanosecondsInOld: nil)
        steps = (none, none, none, none, none, none, none)
    }

    /// Transitions in the batch, the last included.
    public var count: Int { earlierCount + 1 }

    /// Adds an earlier transition after those added before (false when full).
    @discardableResult
    public mutating func appendEarlier(_ step: Step) -> Bool {
        switch earlierCount {
        case 0: steps.0 = step
        case 1: steps.1 = step
        case 2: steps.2 = step
        case 3: steps.3 = step
        case 4: steps.4 = step
        case 5: steps.5 = step
        case 6: steps.6 = step
        default: return false
        }
        earlierCount += 1
        return true
    }

    /// Earlier transition `i` (0 is the oldest). By element: the tuple is not copied whole.
    @inline(__always)
    public func earlier(_ i: Int) -> Step {
        precondition(i >= 0 && i < earlierCount)
        switch i {
        case 0: return steps.0
        case 1: return steps.1
        case 2: return steps.2
        case 3: return steps.3
        case 4: return steps.4
        case 5: return steps.5
        default: return steps.6
        }
    }

    /// Makes `t`, a transition of this batch (or `last` itself), transition `i` (0 is the
    /// oldest, `count - 1` the last) by changing only the fields that differ between them.
    @inline(__always)
    public func load(_ i: Int, into t: inout Transition) {
        if i < earlierCount {
            let s = earlier(i)
            t.time = s.time
            t.old = s.old
            t.new = s.new
            t.nanosecondsInOld = s.nanosecondsInOld
            t.pid = 0
            t.comm = CommName()
            t.receiveQueue = nil
            t.counters = nil
        } else {
            t.time = last.time
            t.old = last.old
            t.new = last.new
            t.nanosecondsInOld = last.nanosecondsInOld
            t.pid = last.pid
            t.comm = last.comm
            t.receiveQueue = last.receiveQueue
            t.counters = last.counters
        }
    }

    /// Every transition, oldest first.
    public var transitions: [Transition] {
        var t = last
        return (0..<count).map { i in
            load(i, into: &t)
            return t
        }
    }
}
