import ArgumentParser
import TcptraceKernel
import TcptraceCore
import TcptraceHost

/// The record types a run can emit (`--events`).
public enum RecordKind: String, CaseIterable, Sendable {
    case transitions, connections, lingerers
    /// `churn`, `port_pressure` and `port_range` records (TIME_WAIT makers, local-port pressure).
    case churn

    static func parseList(_ text: String) throws -> Set<RecordKind> {
        var out = Set<RecordKind>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let k = RecordKind(rawValue: String(part)) else {
                throw ValidationError("invalid --events '\(text)': choose from transitions, connections, lingerers, churn")
            }
            out.insert(k)
        }
        return out
    }
}
