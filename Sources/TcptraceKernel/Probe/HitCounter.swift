import CTcptraceHost
import Glibc
import TcptraceCore
import TcptraceHost

/// perf's own count of the TCP hits on `sock:inet_sock_set_state`: a counting event per CPU
/// (`--count-skips`). Measured against the programs' count of the hits they ran for, it tells
/// the hits the kernel ran no program for — which no BPF counter can see (docs/benchmarks.md,
/// "the uncounted skip"). It costs perf's probe on every hit of the tracepoint.
final class HitCounter {
    private let fds: [Int32]

    /// Opens one counter per possible CPU, counting the hits `filter` (a tracefs filter
    /// expression) passes. Needs tracefs for the tracepoint's id.
    init(filter: String) throws(SystemError) {
        let id = try Self.tracepointID()
        let cpus = Int(sysconf(Int32(_SC_NPROCESSORS_CONF)))
        var fds: [Int32] = []
        for cpu in 0..<max(1, cpus) {
            let fd = tcptrace_tracepoint_counter(id, Int32(cpu), filter)
            if fd == -ENODEV || fd == -EINVAL && cpu > 0 { continue }  // a CPU not present
            if fd < 0 {
                for f in fds { close(f) }
                throw .call("perf_event_open(sock:inet_sock_set_state, cpu \(cpu))", errno: -fd)
            }
            fds.append(fd)
        }
        self.fds = fds
    }

    deinit { for fd in fds { close(fd) } }

    /// The hits counted on every CPU so far.
    var total: UInt64 {
        var sum: UInt64 = 0
        for fd in fds {
            var value: UInt64 = 0
            if read(fd, &value, 8) == 8 { sum &+= value }
        }
        return sum
    }

    /// perf's filter for a trace filter: TCP, and its port lists on the tracepoint's own `sport`
    /// and `dport` (the program counts the same hits, TCPTRACE_CTR_PROBED); the rest of the
    /// filter cannot be said to perf.
    static func filter(_ f: TraceFilter) -> String {
        func any(_ fields: [String], _ ports: [UInt16]) -> String {
            "(" + ports.flatMap { p in fields.map { "\($0) == \(p)" } }.joined(separator: " || ") + ")"
        }
        var parts = ["protocol == 6"]
        if !f.ports.isEmpty { parts.append(any(["sport", "dport"], f.ports)) }
        if !f.localPorts.isEmpty { parts.append(any(["sport"], f.localPorts)) }
        if !f.remotePorts.isEmpty { parts.append(any(["dport"], f.remotePorts)) }
        return parts.joined(separator: " && ")
    }

    static let idPaths = [
        "/sys/kernel/tracing/events/sock/inet_sock_set_state/id",
        "/sys/kernel/debug/tracing/events/sock/inet_sock_set_state/id",
    ]

    static func tracepointID() throws(SystemError) -> UInt64 {
        for path in idPaths {
            if let text = Sysctl.readFile(path), let word = text.split(whereSeparator: \.isWhitespace).first, let id = UInt64(word) { return id }
        }
        throw .call("counting skipped hits needs tracefs for the tracepoint's id (mount -t tracefs tracefs /sys/kernel/tracing): reading \(idPaths[0])", errno: ENOENT)
    }
}
