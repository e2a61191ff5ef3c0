import CTcptraceHost
import Glibc
import TcptraceCore

public enum OutputError: Error, CustomStringConvertible {
    /// The reader went away (EPIPE): end quietly.
    case closed
    case failed(errno: Int32)

    public var description: String {
        switch self {
        case .closed: return "output closed"
        case .failed(let e): return String(cString: strerror(e))
        }
    }
}
