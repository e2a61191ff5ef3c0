import TcptraceKernel
import TcptraceHost
import TcptraceCore

/// Who a census is for: the output's `census` records, the metrics, or both.
struct CensusUse: OptionSet {
    let rawValue: UInt8
    static let output = CensusUse(rawValue: 1)
    static let metrics = CensusUse(rawValue: 2)
    static let findings = CensusUse(rawValue: 4)
}
