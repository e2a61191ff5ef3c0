import CTcptraceProgram
import Foundation
import Testing
import TestSupport
import TcptraceCore

/// Numbers stated in more than one place come from the ABI header (bpf/tcptrace.h): the core's
/// copies (it imports no C) and the README's figures are checked against it here.
@Suite struct ABIFactsTests {
    static func readme() throws -> String { try String(contentsOfFile: repositoryRoot + "/README.md", encoding: .utf8) }

    @Test func filterLimitsAreTheHeaders() {
        #expect(TraceFilter.maxPortsPerList == Int(TCPTRACE_MAX_PORTS))
        #expect(TraceFilter.maxCommBytes == Int(TCPTRACE_COMM_LEN) - 1)
    }

    @Test func readmeEventSizeIsTheStructs() throws {
        let text = try Self.readme()
        let size = MemoryLayout<tcptrace_event>.size
        #expect(text.contains("one \(size)-byte event"), "README: each transition is one \(size)-byte event")
        // No other size is claimed for it.
        for line in text.split(separator: "\n") where line.contains("-byte event") {
            #expect(line.contains("\(size)-byte event"), "\(line)")
        }
    }

    @Test func readmeFilterLimitsAreTheHeaders() throws {
        let text = try Self.readme()
        #expect(text.contains("comma-separated, at most \(TCPTRACE_MAX_PORTS) |"))
        #expect(text.contains("at most \(Int(TCPTRACE_COMM_LEN) - 1) bytes)"))
    }
}
