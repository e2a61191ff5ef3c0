import ArgumentParser
import TcptraceCore
import TcptraceHost

/// The live view as a sink of the run: it keeps the lingerers the run reports and the rounds
/// of the run's census, and at its turn reads keys and draws a frame each second or when the
/// terminal is resized.
final class TopSink: ViewSink {
    /// A census walks every socket of the host (as `ss -tan` does), on the run's census
    /// thread: not at every frame.
    static var defaultCensusInterval: UInt64? { 2 * frameInterval }
    static var saysLossAsItHappens: Bool { false }
    /// Keys and resizes are looked at this often; frames come each `frameInterval`.
    static var screenInterval: UInt64? { 100_000_000 }
    static let frameInterval: UInt64 = 1_000_000_000

    let terminal: LiveTerminal
    var model: TopModel
    let utcOffsetSeconds = SystemClock.utcOffsetSeconds()
    /// Monotonic time of the last frame.
    var lastFrame: UInt64?

    init(terminal: LiveTerminal, model: TopModel) {
        self.terminal = terminal
        self.model = model
    }

    func append(_ l: LingererRecord, to out: inout [UInt8]) { model.note(l) }
    func append(_ r: LeakRecord, to out: inout [UInt8]) { model.note(r) }
    func append(_ f: inout FindingRecord, to out: inout [UInt8]) { model.note(f) }
    func append(censusRound: [Census], to out: inout [UInt8]) { model.note(censusRound: censusRound) }

    func refresh(_ live: LiveRun, to out: inout [UInt8]) -> Bool {
        if terminal.readKeys().contains(where: { $0 == UInt8(ascii: "q") || $0 == UInt8(ascii: "Q") }) { return false }
        let now = SystemClock.monotonicNanoseconds()
        let resized = terminal.takeResized()
        if let lastFrame, now &- lastFrame < Self.frameInterval && !resized { return true }
        do {
            try terminal.enter()
        } catch {
            printError("cannot set up the terminal: \(error)")
            return false
        }
        let size = terminal.size
        let screen = TopScreen(width: size.columns, height: size.rows, color: terminal.wantsColor, utcOffsetSeconds: utcOffsetSeconds)
        // A redraw for a resize is not a new interval: rates stay those of the last frame.
        if resized, lastFrame != nil, let last = lastSnapshot {
            out += screen.frame(last, terminal: terminal.isScreen)
            return true
        }
        let snapshot = model.frame(
            summary: live.summary, lost: live.lost, now: SystemClock.wallNow(), monotonic: now, isLingering: live.isInCloseWait)
        out += screen.frame(snapshot, terminal: terminal.isScreen)
        lastSnapshot = snapshot
        lastFrame = now
        return true
    }

    var lastSnapshot: TopSnapshot?
}
