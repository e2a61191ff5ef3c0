import Foundation
import Testing
import TestSupport
@testable import TcptraceCore

/// The README's metrics table and worst-case series total come from the family declarations.
/// `TCPTRACE_UPDATE_README=1 swift test --filter SchemaTableTests` rewrites them (one test writes
/// the README: two at once would each overwrite the other's change).
@Suite struct MetricFamilyTests {
    static let readme = repositoryRoot + "/README.md"

    static func replace(_ open: String, _ close: String, with body: String, in text: inout String) throws {
        let start = try #require(text.range(of: open), "README has no \(open)")
        let end = try #require(text.range(of: close, range: start.upperBound..<text.endIndex))
        text.replaceSubrange(start.upperBound..<end.lowerBound, with: body)
    }

    static func generated(_ text: String) throws -> String {
        var t = text
        try replace("<!-- metrics -->\n", "<!-- /metrics -->", with: MetricFamily.markdown, in: &t)
        try replace("<!-- worst-case -->", "<!-- /worst-case -->", with: "\(MetricFamily.worstCaseSeries)", in: &t)
        return t
    }

    @Test func readmeTableAndTotalAreTheDeclarations() throws {
        let text = try String(contentsOfFile: Self.readme, encoding: .utf8)
        #expect(try Self.generated(text) == text, "README's metrics table is stale: TCPTRACE_UPDATE_README=1 swift test --filter SchemaTableTests")
    }

    @Test func everyFamilyOnThePageIsDeclaredOnce() {
        let all = MetricFamily.tracer + MetricFamily.process
        #expect(Set(all.map(\.name)).count == all.count)
        #expect(MetricFamily.worstCaseSeries == 735)  // 699 + tcptrace_findings (36)
    }
}
