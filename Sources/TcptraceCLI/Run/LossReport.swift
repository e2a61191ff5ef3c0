import TcptraceCore
import TcptraceHost
import TcptraceKernel

/// Lost events said on standard error as they happen, each cause with its remedy.
struct LossReport {
    /// What has been said so far.
    private var said = LostEvents()

    /// Says what was lost since the last call; `lost`: everything lost so far.
    mutating func sayNew(_ lost: LostEvents) {
        if lost.ringBufferFull > said.ringBufferFull {
            printError("lost \(lost.ringBufferFull - said.ringBufferFull) events: ring buffer full (raise --ring-buffer-size)")
        }
        if lost.recursionMisses > said.recursionMisses {
            printError("lost \(lost.recursionMisses - said.recursionMisses) events: program busy on that CPU (recursion misses)")
        }
        if lost.unseen > said.unseen {
            printError("lost \(lost.unseen - said.unseen) events or more: the kernel skipped transitions without running the program (gaps in as many sockets' histories)")
        }
        if lost.undecodable > said.undecodable {
            printError("skipped \(lost.undecodable - said.undecodable) undecodable records")
        }
        said = lost
    }
}

extension Tracer {
    /// Every event lost so far, by cause: in the kernel (ring buffer full, recursion) and in
    /// user space (undecodable).
    var lostEvents: LostEvents {
        var lost = LostEvents()
        let k = kernelCounters()
        lost.ringBufferFull = k.ringBufferFull
        lost.recursionMisses = recursionMisses()
        lost.undecodable = undecodable
        lost.unseen = k.unseen
        return lost
    }
}
