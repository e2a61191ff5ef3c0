import TcptraceKernel
import TcptraceHost
import TcptraceCore

/// One run of the tracer: open output, check the host, load, poll until told to stop, drain,
/// summarize. Printing lives in `handle`; this type owns the order of things.
final class TraceRun {
    let options: TraceCommand
    var writer: LineWriter!
    /// Table, summary and time cache: touched by every event, so kept in one struct behind a
    /// pointer this run owns (no exclusivity check or retain/release per access).
    let hot: UnsafeMutablePointer<HotState>
    var summary: RunSummary {
        get { hot.pointee.summary }
        _modify { yield &hot.pointee.summary }
        set { hot.pointee.summary = newValue }
    }
    let text: TextLines
    let json: Bool
    /// The first output error; it stops the run.
    var outputError: OutputError?
    var table: ConnectionTable {
        get { hot.pointee.table }
        _modify { yield &hot.pointee.table }
        set { hot.pointee.table = newValue }
    }
    let holders = SocketHolders()
    /// Who held each reported lingerer, so its `closed` record names the same process.
    var lingererHolders: [UInt64: LingererRecord.Holder] = [:]
    let emitTransitions: Bool
    let emitConnections: Bool
    let emitLingerers: Bool
    var color = false
    var lossAtLastReconcile: UInt64 = 0

    static let pollMilliseconds: Int32 = 100

    init(options: TraceCommand) {
        self.options = options
        self.json = options.format == .json
        self.text = TextLines(utcOffsetSeconds: SystemClock.utcOffsetSeconds())
        hot = .allocate(capacity: 1)
        hot.initialize(
            to: HotState(
                table: ConnectionTable(capacity: options.maxConnections, lingerThresholdNanoseconds: options.closeWaitThreshold),
                summary: RunSummary(start: WallTime(nanoseconds: 0)), timeCache: RFC3339Cache()))
        emitTransitions = options.events.contains(.transitions)
        emitConnections = options.events.contains(.connections)
        emitLingerers = options.events.contains(.lingerers)
    }

    deinit {
        hot.deinitialize(count: 1)
        hot.deallocate()
    }

    func run() -> ExitStatus {
        // Output first: an unwritable path is the user's to fix before anything is loaded.
        if let path = options.output {
            do {
                writer = try LineWriter.open(path: path)
            } catch {
                printError("cannot write output file \(path): \(error)")
                return .cannotCreate
            }
        } else {
            writer = LineWriter()
        }

        let tracer: Tracer
        do {
            try Preflight.checkPrivileges()
            try Preflight.checkKernel()
            StopSignal.install()
            tracer = try Tracer(
                configuration: options.tracerConfiguration, clock: SystemClock.monotonicToWall(),
                handler: { [out = writer.storage] t in self.handle(t, out: out) })
        } catch {
            printError(error.description)
            return error.exitStatus
        }
        summary = RunSummary(start: SystemClock.wallNow())
        seedFromCensus()
        let deadline = options.duration.map { SystemClock.monotonicNanoseconds() + $0 }
        printError(
            "tracing TCP state transitions\(options.duration == nil ? "" : " for \(options.duration! / 1_000_000) ms"); Ctrl-C to end")

        color = !json && writer.isTerminal
        if !json && emitTransitions {
            writer.buffer.append(TextLines.header)
        }
        var reportedLoss = LostEvents()
        let overflowAtStart = Sysctl.tcpExtCounters().timeWaitOverflow
        var overflowReported = overflowAtStart
        let censusEvery = options.censusInterval ?? (json ? 60_000_000_000 : 0)
        var nextOverflowCheck = SystemClock.monotonicNanoseconds() + 10_000_000_000
        var nextReconcile = SystemClock.monotonicNanoseconds() + 5_000_000_000
        var nextCensus = censusEvery > 0 ? SystemClock.monotonicNanoseconds() + censusEvery : UInt64.max
        var nextLossCheck = SystemClock.monotonicNanoseconds()
        do {
            while StopSignal.received == 0 && outputError == nil {
                let now = SystemClock.monotonicNanoseconds()
                if let deadline, now >= deadline { break }
                let timeout = deadline.map { Int32(min(UInt64(Self.pollMilliseconds), ($0 - now) / 1_000_000 + 1)) }
                try tracer.poll(timeoutMilliseconds: timeout ?? Self.pollMilliseconds)
                if outputError == nil { try flush() }
                if now >= nextLossCheck {
                    if !json { reportedLoss = reportNewLoss(tracer, since: reportedLoss) }
                    checkLingerers()
                    if now >= nextOverflowCheck {
                        overflowReported = reportTimeWaitOverflow(since: overflowReported)
                        nextOverflowCheck = now + 10_000_000_000
                    }
                    if now >= nextReconcile {
                        reconcileAfterLoss(tracer)
                        nextReconcile = now + 5_000_000_000
                    }
                    if now >= nextCensus {
                        emitCensus()
                        nextCensus = now + censusEvery
                    }
                    if outputError == nil { try flush() }
                    nextLossCheck = now + 1_000_000_000
                }
            }
            // Stop new events, then deliver everything already queued.
            tracer.detach()
            if outputError == nil { try tracer.drain() }
        } catch {
            printError(error.description)
            return error.exitStatus
        }

        if case .closed = outputError { return .success }
        summary.end = SystemClock.wallNow()
        summary.kernel = tracer.kernelCounters()
        summary.lost.ringBufferFull = summary.kernel.ringBufferFull
        summary.lost.recursionMisses = tracer.recursionMisses()
        summary.lost.undecodable = tracer.undecodable
        summary.tableEvictions = table.evictions
        summary.openConnections = UInt64(table.count)
        if let start = overflowAtStart, let end = Sysctl.tcpExtCounters().timeWaitOverflow {
            summary.timeWaitOverflow = end &- start
        }
        if !json { _ = reportNewLoss(tracer, since: reportedLoss) }
        if json {
            JSONLines.append(summary, to: &writer.buffer)
        } else {
            text.appendSummary(summary, to: &writer.buffer)
        }
        try? flush()
        switch outputError {
        case .failed(let e):
            printError("writing output failed: \(Errno(e).description)")
            return .ioError
        case .closed, nil:
            return .success
        }
    }

    /// The ring buffer callback's work: format one record into the output buffer `out`
    /// (the writer's storage, passed in by the closure so no class property is read per event).
    @inline(__always)
    func handle(_ event: consuming Transition, out: UnsafeMutablePointer<[UInt8]>) -> Bool {
        let hot = self.hot
        var outcome = ConnectionTable.Outcome()
        var t = hot.pointee.ingest(event, into: &outcome)
        if emitTransitions {
            if json {
                JSONLines.append(&t, to: &out.pointee, timeCache: &hot.pointee.timeCache)
            } else {
                text.append(t, to: &out.pointee)
            }
        }
        if var c = outcome.connection {
            if emitConnections {
                if json {
                    JSONLines.append(&c, to: &out.pointee, timeCache: &hot.pointee.timeCache)
                } else {
                    text.append(c, to: &out.pointee)
                }
            }
        }
        if var l = outcome.lingererClosed {
            if let h = lingererHolders.removeValue(forKey: l.identity.cookie) { l.holder = h }
            emit(l)
        }
        if out.pointee.count >= LineWriter.flushThresholdBytes {
            do {
                try writer.flush()
            } catch {
                outputError = error
                return false
            }
        }
        return true
    }

    /// Sockets that existed before the tracer (kernel fact 6: the tracepoint cannot see them
    /// until they move) enter the table from a sock_diag census, so their later transitions
    /// have identity and owner, and a CLOSE_WAIT leak from yesterday is found (age: lower bound).
    func seedFromCensus() {
        let now = SystemClock.wallNow()
        var sockets: [SocketSnapshot] = []
        do {
            // TIME_WAIT and request sockets are not full sockets: they never fire the tracepoint.
            let states = Set((1...11).map { TCPState(rawValue: UInt8($0)) }).subtracting([.timeWait, .synRecv])
            var addressOnly = options.filter
            addressOnly.ownerPID = nil
            addressOnly.ownerComm = nil
            try SockDiag.forEach(states: states) { s in
                if addressOnly.matches(family: s.family, localPort: s.localPort, remotePort: s.remotePort, owner: nil) {
                    sockets.append(s)
                }
            }
        } catch {
            printError("start-up census failed, sockets from before the start are unknown: \(error)")
            return
        }
        // Owners from /proc for the sockets that matter: listeners (their accepted sockets
        // inherit the owner) and CLOSE_WAIT (lingerers). One scan.
        let wanted = Set(sockets.filter { ($0.state == .listen || $0.state == .closeWait) && $0.inode != 0 }.map(\.inode))
        let found = wanted.isEmpty ? [:] : holders.holders(of: wanted)
        for s in sockets.prefix(options.maxConnections) {
            let owner = found[s.inode]?.process
            guard options.filter.matches(family: s.family, localPort: s.localPort, remotePort: s.remotePort, owner: owner)
            else { continue }
            table.seed(
                s.identity, state: s.state, inode: s.inode == 0 ? nil : s.inode, owner: owner,
                unreadBytes: s.state == .closeWait ? UInt64(s.receiveQueue > 0 ? s.receiveQueue - 1 : 0) : nil, now: now)
        }
    }

    /// Once a second: sockets that crossed the CLOSE_WAIT threshold, with the process and fd
    /// that hold them according to /proc (one cached scan, only when there is something new).
    func checkLingerers() {
        var due = table.dueLingerers(now: SystemClock.wallNow())
        guard !due.isEmpty else { return }
        // sock_diag knows the inode of sockets accepted after they entered CLOSE_WAIT (the
        // kernel program saw no file then) and the unread bytes now.
        var current: [UInt64: SocketSnapshot] = [:]
        let cookies = Set(due.map(\.identity.cookie))
        try? SockDiag.forEach(states: [.closeWait]) { s in
            if cookies.contains(s.cookie) { current[s.cookie] = s }
        }
        for i in due.indices {
            guard let s = current[due[i].identity.cookie] else { continue }
            if s.inode != 0 { due[i].inode = s.inode }
            due[i].unreadBytes = UInt64(s.receiveQueue > 0 ? s.receiveQueue - 1 : 0)
        }
        let found = holders.holders(of: Set(due.compactMap(\.inode)))
        for i in due.indices {
            if let inode = due[i].inode, let h = found[inode] { due[i].holder = h }
            if let h = due[i].holder {
                // Bounded like the table: lingerers evicted from it never send their `closed`.
                if lingererHolders.count >= options.maxConnections { lingererHolders.removeAll(keepingCapacity: true) }
                lingererHolders[due[i].identity.cookie] = h
            }
            summary.record(due[i])
            emit(due[i])
        }
    }

    /// After lost events, some table entries may belong to sockets whose CLOSE never arrived:
    /// a census (every 5 s while losses continue) says which cookies still exist; the rest, idle
    /// for 5 s, are dropped and counted.
    func reconcileAfterLoss(_ tracer: Tracer) {
        let lost = tracer.kernelCounters().ringBufferFull &+ tracer.recursionMisses() &+ tracer.undecodable
        guard lost != lossAtLastReconcile else { return }
        lossAtLastReconcile = lost
        var alive = Set<UInt64>()
        do {
            try SockDiag.forEach { alive.insert($0.cookie) }
        } catch {
            return
        }
        let idleBefore = WallTime(nanoseconds: SystemClock.wallNow().nanoseconds - 5_000_000_000)
        summary.vanishedConnections += UInt64(table.removeVanished(alive: alive, idleBefore: idleBefore))
    }

    /// TIME_WAIT sockets the kernel refused to create (tcp_max_tw_buckets): say so when it grows.
    func reportTimeWaitOverflow(since last: UInt64?) -> UInt64? {
        let now = Sysctl.tcpExtCounters().timeWaitOverflow
        if let now, let last, now > last {
            printError(
                "TcpExtTCPTimeWaitOverflow grew by \(now - last): tcp_max_tw_buckets reached, connections closing without TIME_WAIT")
        }
        return now ?? last
    }

    /// A periodic `census` record: states of every TCP socket now, from sock_diag.
    func emitCensus() {
        var f = CensusFilter(family: options.filter.family, ports: options.filter.ports)
        if f.ports.isEmpty { f.ports = options.filter.localPorts + options.filter.remotePorts }
        do {
            let census = try CensusSource.take(filter: f)
            if json { JSONLines.append(census, to: &writer.buffer) } else { text.appendCensus(census, to: &writer.buffer) }
        } catch {
            printError("census failed: \(error)")
        }
    }

    func emit(_ l: LingererRecord) {
        guard emitLingerers else { return }
        if json { JSONLines.append(l, to: &writer.buffer) } else { text.append(l, color: color, to: &writer.buffer) }
    }

    func flush() throws(SystemError) {
        do {
            try writer.flush()
        } catch {
            outputError = error
        }
    }

    /// Text mode: say on stderr, as it happens, that events were lost.
    func reportNewLoss(_ tracer: Tracer, since last: LostEvents) -> LostEvents {
        var now = LostEvents()
        now.ringBufferFull = tracer.kernelCounters().ringBufferFull
        now.recursionMisses = tracer.recursionMisses()
        now.undecodable = tracer.undecodable
        if now.ringBufferFull > last.ringBufferFull {
            printError(
                "lost \(now.ringBufferFull - last.ringBufferFull) events: ring buffer full (raise --ring-buffer-size)")
        }
        if now.recursionMisses > last.recursionMisses {
            printError("lost \(now.recursionMisses - last.recursionMisses) events: program busy on that CPU (recursion misses)")
        }
        if now.undecodable > last.undecodable {
            printError("skipped \(now.undecodable - last.undecodable) undecodable records")
        }
        return now
    }
}

/// The state every event touches (see `TraceRun.hot`).
struct HotState {
    var table: ConnectionTable
    var summary: RunSummary
    var timeCache: RFC3339Cache

    @inline(__always)
    mutating func ingest(_ event: Transition, into outcome: inout ConnectionTable.Outcome) -> Transition {
        table.ingest(event, summary: &summary, into: &outcome)
    }
}
