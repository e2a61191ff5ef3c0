import Glibc
import TcptraceCore

/// Everything that can stop the tracer, each with the one line the user sees and an exit code.
public enum SystemError: Error, CustomStringConvertible, Equatable {
    /// A capability the run needs is missing, or the kernel refused an operation for want of one.
    case notPermitted(String)
    /// The kernel cannot run the program: no BTF, no tracepoint, no tp_btf.
    case kernelUnsupported(String)
    /// The kernel's verifier rejected a program: which kernel, which program, and why.
    case verifierRejected(String)
    /// A libbpf or system call failed: which one, and errno.
    case call(String, errno: Int32)
    /// Something the user named does not exist here (a namespace, a container).
    case notFound(String)
    /// The metrics address cannot be bound.
    case cannotListen(String)

    public var description: String {
        switch self {
        case .notPermitted(let m), .kernelUnsupported(let m), .verifierRejected(let m), .notFound(let m), .cannotListen(let m):
            return m
        case .call(let op, let e): return "\(op) failed: \(String(cString: strerror(e))) (errno \(e))"
        }
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .notPermitted: return .noPermission
        case .kernelUnsupported: return .unavailable
        case .verifierRejected: return .verifierRejected
        case .call: return .osError
        case .notFound: return .usage
        case .cannotListen: return .cannotListen
        }
    }
}
