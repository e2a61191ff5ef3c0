import TcptraceKernel
import TcptraceHost
import TcptraceCore

/// The run's CLOSE_WAIT leak groups: lingerers grouped as they are reported, the opener stacks
/// they name symbolized once per distinct stack, and the `leak` and `stack` records due.
final class LeakTracker {
    var groups: LeakGroups
    /// The latest record of each group and every stack said: the end-of-run section.
    var book = LeakBook()
    let symbolizer = StackSymbolizer()
    /// Frames of each stack said, to its record id (bounded).
    private var stackIDs: [[String]: UInt32] = [:]
    /// A kernel stack in one process, symbolized: its record id and opener frame.
    private struct OpenerKey: Hashable {
        var pid: UInt32
        var stackID: Int32
        var top: [UInt64]
    }
    private var symbolized: [OpenerKey: (id: UInt32, opener: String?)] = [:]
    private var nextStackID: UInt32 = 1
    static let maxStacks = 1_024
    /// Lingerers whose opener stack the kernel could not take (bpf_get_stackid failed).
    var stackFailures: UInt64 = 0

    init(maxSockets: Int) { groups = LeakGroups(maxSockets: maxSockets) }

    /// Groups the lingerers just reported; returns the `stack` records to write first.
    func add(_ due: [LingererRecord], places: [UInt64: LeakPlace], tracer: Tracer?, now: WallTime) -> [StackRecord] {
        var stacks: [StackRecord] = []
        symbolizer.forgetProcesses()
        for l in due {
            let id = l.identity
            guard let place = places[id.cookie] else { continue }
            var stack: (id: UInt32, opener: String?)?
            if let o = tracer?.opener(ofCookie: id.cookie) {
                if o.stackID < 0 {
                    stackFailures += 1
                } else {
                    stack = self.stack(o, tracer: tracer!, now: now, new: &stacks)
                }
            }
            let holder = place.cause == .notAccepted ? place.listenerHolder ?? l.holder?.process : l.holder?.process
            let key = LeakGroups.Key(
                holder: holder, container: id.container.flatMap { ContainerRegistry.shared.info($0)?.shortName }, netns: id.netns,
                role: place.role, address: place.address, port: place.port, cause: place.cause, stack: stack?.id,
                opener: stack?.opener)
            let entered = WallTime(nanoseconds: l.time.nanoseconds - Int64(l.ageNanoseconds))
            groups.add(cookie: id.cookie, key: key, entered: entered, lowerBound: l.ageIsLowerBound, now: now)
        }
        return stacks
    }

    private func stack(_ o: Tracer.Opener, tracer: Tracer, now: WallTime, new: inout [StackRecord]) -> (id: UInt32, opener: String?)? {
        let key = OpenerKey(pid: o.pid, stackID: o.stackID, top: o.stackTop)
        if let s = symbolized[key] { return s }
        guard let addresses = tracer.stackAddresses(o.stackID), !addresses.isEmpty else { return nil }
        let frames = symbolizer.frames(pid: o.pid, addresses: addresses, stackTop: o.stackTop)
        let id: UInt32
        if let known = stackIDs[frames] {
            id = known
        } else {
            guard stackIDs.count < Self.maxStacks else { return nil }
            id = nextStackID
            nextStackID += 1
            stackIDs[frames] = id
            // A full walk ends in _start (or the depth limit); anything else stopped early.
            let complete = frames.last.map { $0.contains("!_start+") || $0.contains("!clone") } ?? false
            let r = StackRecord(
                time: now, id: id, pid: o.pid, frames: frames,
                truncated: !complete || addresses.count >= Tracer.stackDepth)
            book.note(r)
            new.append(r)
        }
        let s = (id, StackSymbolizer.opener(of: frames))
        if symbolized.count >= Self.maxStacks * 4 { symbolized.removeAll(keepingCapacity: true) }
        symbolized[key] = s
        return s
    }

    func remove(cookie: UInt64, now: WallTime) { groups.remove(cookie: cookie, now: now) }

    /// The `leak` records due now.
    func due(now: WallTime) -> [LeakRecord] {
        let out = groups.due(now: now)
        for r in out { book.note(r) }
        return out
    }

    /// Every group still there, as `exit` records.
    func exit(now: WallTime) -> [LeakRecord] {
        let out = groups.current(now: now)
        for r in out { book.note(r) }
        return out
    }
}

extension TraceRun {
    /// Groups lingerers just reported (their holders resolved): their places from one dump of
    /// the listeners, their opener stacks from the kernel maps.
    func noteLeaks(_ due: [LingererRecord], tracer: Tracer?) {
        guard !due.isEmpty else { return }
        let places = lingererHolders.places(of: due, namespaces: namespaces)
        let stacks = leaks.add(due, places: places, tracer: tracer, now: SystemClock.wallNow())
        guard emitLingerers else { return }
        for s in stacks { sink.append(s, to: &writer.buffer) }
    }

    /// The `leak` records due now (new groups, material changes, intervals, resolved groups).
    func emitLeaks(now: WallTime) {
        let due = leaks.due(now: now)
        guard emitLingerers else { return }
        for r in due { sink.append(r, to: &writer.buffer) }
    }
}
