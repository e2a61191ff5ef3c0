import CTcptraceHost
import Glibc
import TcptraceCore

public enum OutputError: Error, CustomStringConvertible {
    /// The reader went away (EPIPE): end quietly.
    case closed
    case failed(errno: Int32)
    /// After a stop signal the output took nothing (a stalled pipe): the rest was given up.
    case stalled

    public var description: String {
        switch self {
        case .closed: return "output closed"
        case .failed(let e): return String(cString: strerror(e))
        case .stalled: return "output stalled after the stop signal"
        }
    }
}
