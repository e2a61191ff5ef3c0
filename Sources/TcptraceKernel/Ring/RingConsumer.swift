import CLibbpf
import CTcptraceProgram
import Glibc
import TcptraceCore
import TcptraceHost

/// The ring buffer callback's context: decodes and hands records on, and raises its thread's
/// priority while the ring is more than half full (checked before and after each poll, at the
/// first record after a wakeup — the backlog a thread finds when it gets the CPU back after a long
/// wait, before draining it hides it — and every `checkEvery` records, so such a thread is raised
/// within ~1 ms of work).
final class RingConsumer {
    let clock: MonotonicToWall
    let handler: Tracer.Handler
    let batchHandler: Tracer.BatchHandler?
    var handled = 0
    var undecodable: UInt64 = 0
    var stopped = false
    var catchUp: CatchUpPriority
    /// nil when the priority is never changed.
    var positions: RingReader?
    /// Set before each poll: the next record is the first of a wakeup.
    var woken = false
    static let checkEvery = 1024

    init(clock: MonotonicToWall, handler: @escaping Tracer.Handler, batchHandler: Tracer.BatchHandler?, catchUp: CatchUpPriority) {
        self.clock = clock
        self.handler = handler
        self.batchHandler = batchHandler
        self.catchUp = catchUp
    }

    /// Raised above half full, restored below an eighth: the gap keeps a consumer that hovers
    /// around one mark from switching on every check.
    func adjustPriority() {
        guard let positions else { return }
        let queued = positions.queuedBytes
        if queued >= positions.bytes / 2 {
            catchUp.raise()
        } else if queued <= positions.bytes / 8 {
            catchUp.restore()
        }
    }

    /// Handles one record; false once the handler asked to stop.
    @inline(__always)
    func consume(_ raw: UnsafeRawBufferPointer) -> Bool {
        handled += 1
        if woken || handled % Self.checkEvery == 0 {
            woken = false
            adjustPriority()
        }
        do {
            let more: Bool
            if let batchHandler, try EventDecoder.isBatch(raw) {
                more = batchHandler(try EventDecoder.decodeBatch(raw, clock: clock))
            } else {
                more = try EventDecoder.decodeRecord(raw, clock: clock, deliver: handler)
            }
            if !more {
                stopped = true
                return false
            }
        } catch {
            undecodable += 1
        }
        return true
    }
}
