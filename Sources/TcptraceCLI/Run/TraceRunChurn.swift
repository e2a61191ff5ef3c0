import TcptraceHost
import TcptraceCore

/// The TIME_WAIT view of a live run: once per client connection (never per transition), the
/// namespace's ports are read the first time (a `port_range` record) and the destination's
/// pressure checked (`port_pressure` records); every 10 s, the makers (`churn` records).
extension TraceRun {
    static var churnInterval: UInt64 { 10_000_000_000 }

    @inline(never)
    func notePortPressure(_ c: ConnectionRecord, out: UnsafeMutablePointer<[UInt8]>) {
        // Through the pointer: `summary`'s getter would copy the whole summary.
        if hot.pointee.summary.churn.needsPorts(c) {
            let ports = NamespacePortsReader.read(netns: c.identity.netns)
            hot.pointee.summary.churn.setPorts(ports, netns: c.identity.netns)
            if let ports {
                var r = PortRangeRecord(time: c.time, netns: c.identity.netns, ports: ports)
                if emitChurn { sink.appendRecord(&r, to: &out.pointee) }
            } else {
                printError(
                    "network namespace \(c.identity.netns.map(String.init) ?? "?"): ip_local_port_range unreadable, its port-pressure forecast is left out")
            }
        }
        for var w in hot.pointee.summary.churn.pressureWarnings(c) {
            if emitChurn { sink.appendRecord(&w, to: &out.pointee) }
        }
    }

    func writeChurn() {
        guard emitChurn else { return }
        for var r in summary.churn.churnRecords(now: SystemClock.wallNow()) { sink.appendRecord(&r, to: &writer.buffer) }
    }
}

