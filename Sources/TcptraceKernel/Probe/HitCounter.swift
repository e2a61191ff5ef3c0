import CTcptraceHost
import Glibc
import TcptraceHost

/// perf's own count of the TCP hits on `sock:inet_sock_set_state`: a counting event per CPU
/// (`--count-skips`). Measured against the programs' count of the hits they ran for, it tells
/// the hits the kernel ran no program for — which no BPF counter can see (docs/benchmarks.md,
/// "the uncounted skip"). It costs perf's probe on every hit of the tracepoint.
final class HitCounter {
    private let fds: [Int32]

    /// Opens one counter per possible CPU. Needs tracefs for the tracepoint's id.
    init() throws(SystemError) {
        let id = try Self.tracepointID()
        let cpus = Int(sysconf(Int32(_SC_NPROCESSORS_CONF)))
        var fds: [Int32] = []
        for cpu in 0..<max(1, cpus) {
            let fd = tcptrace_tracepoint_counter(id, Int32(cpu), "protocol == 6")
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

    static let idPaths = [
        "/sys/kernel/tracing/events/sock/inet_sock_set_state/id",
        "/sys/kernel/debug/tracing/events/sock/inet_sock_set_state/id",
    ]

    static func tracepointID() throws(SystemError) -> UInt64 {
        for path in idPaths {
            if let text = Sysctl.readFile(path), let word = text.split(whereSeparator: \.isWhitespace).first, let id = UInt64(word) { return id }
        }
        throw .call("--count-skips needs tracefs for the tracepoint's id (mount -t tracefs tracefs /sys/kernel/tracing): reading \(idPaths[0])", errno: ENOENT)
    }
}
