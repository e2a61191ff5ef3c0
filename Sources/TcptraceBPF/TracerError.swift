import Glibc
import TcptraceCore

/// Everything that can stop the tracer, each with the one line the user sees and an exit code.
public enum TracerError: Error, CustomStringConvertible, Equatable {
    /// Not root and without CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN).
    case notPermitted(String)
    /// The kernel cannot run the program: no BTF, no tracepoint, no tp_btf, verifier refusal.
    case kernelUnsupported(String)
    /// A libbpf or system call failed: which one, and errno.
    case call(String, errno: Int32)

    public var description: String {
        switch self {
        case .notPermitted(let m), .kernelUnsupported(let m): return m
        case .call(let op, let e): return "\(op) failed: \(String(cString: strerror(e))) (errno \(e))"
        }
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .notPermitted: return .noPermission
        case .kernelUnsupported: return .unavailable
        case .call: return .osError
        }
    }
}

/// libbpf's two error conventions, each turned into a typed error naming the operation.
@inline(__always)
func check(_ op: @autoclosure () -> String, _ rc: Int32) throws(TracerError) {
    if rc < 0 { throw .call(op(), errno: -rc) }
}

@inline(__always)
func check<T>(_ op: @autoclosure () -> String, _ pointer: T?) throws(TracerError) -> T {
    guard let pointer else { throw .call(op(), errno: errno) }
    return pointer
}
