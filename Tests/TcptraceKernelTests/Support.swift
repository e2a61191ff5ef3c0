// The helpers both test targets share (KernelGate, Loopback, Binary, tempPath, eventually, …),
// visible in every file of this target.
@_exported import TestSupport
import Foundation
import Glibc
import Testing
import TcptraceKernel
import TcptraceHost
import TcptraceCore

/// The real program, loaded in this process, collecting what it reports.
final class Collector {
    var transitions: [Transition] = []
    let tracer: Tracer

    init(filter: TraceFilter, ringBufferBytes: UInt64 = 1 << 20) throws {
        var c = Tracer.Configuration()
        c.filter = filter
        c.ringBufferBytes = ringBufferBytes
        let box = Box()
        tracer = try Tracer(configuration: c, clock: SystemClock.monotonicToWall()) { t in
            box.items.append(t)
            return true
        }
        self.box = box
    }

    private final class Box { var items: [Transition] = [] }
    private let box: Box

    /// Drains until `count` events arrived or `seconds` passed, then returns them all.
    @discardableResult
    func collect(atLeast count: Int = Int.max, seconds: Double = 2) throws -> [Transition] {
        try eventually(seconds: seconds, every: 0) {
            try tracer.poll(timeoutMilliseconds: 20)
            return box.items.count >= count
        }
        try tracer.drain()
        transitions = box.items
        return transitions
    }

    /// Cookie → the socket's transitions, in order.
    var sockets: [UInt64: [Transition]] { Dictionary(grouping: transitions, by: \.identity.cookie) }
}

func path(_ ts: [Transition]) -> [String] { ts.map { "\($0.old.name)->\($0.new.name)" } }

let clientPath = ["CLOSE->SYN_SENT", "SYN_SENT->ESTABLISHED", "ESTABLISHED->FIN_WAIT1", "FIN_WAIT1->FIN_WAIT2", "FIN_WAIT2->CLOSE"]
let serverPath = ["LISTEN->SYN_RECV", "SYN_RECV->ESTABLISHED", "ESTABLISHED->CLOSE_WAIT", "CLOSE_WAIT->LAST_ACK", "LAST_ACK->CLOSE"]
let listenerPath = ["CLOSE->LISTEN", "LISTEN->CLOSE"]
