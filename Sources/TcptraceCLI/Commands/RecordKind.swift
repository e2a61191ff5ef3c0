import ArgumentParser
import TcptraceKernel
import TcptraceCore
import TcptraceHost

/// The record types a run can emit (`--events`).
public enum RecordKind: String, CaseIterable, Sendable {
    case transitions, connections, lingerers, findings
    /// `churn`, `port_pressure` and `port_range` records (TIME_WAIT makers, local-port pressure).
    case churn

    /// Without `--events`: every type but `finding` records, which are asked for by name (their
    /// lines are not among the transitions and connections the summary counts).
    static var defaults: Set<RecordKind> { Set(allCases).subtracting([.findings]) }

    static func parseList(_ text: String) throws -> Set<RecordKind> {
        var out = Set<RecordKind>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let k = RecordKind(rawValue: String(part)) else {
                throw ValidationError("invalid --events '\(text)': choose from transitions, connections, lingerers, findings, churn")
            }
            out.insert(k)
        }
        return out
    }
}
