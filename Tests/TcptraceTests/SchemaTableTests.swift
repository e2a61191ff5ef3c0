import Foundation
import Testing
@testable import TcptraceCore

/// The README's JSON schema tables are generated from the record declarations: a table that
/// does not match its declaration fails here. `TCPTRACE_UPDATE_README=1 swift test --filter
/// SchemaTableTests` rewrites them.
@Suite struct SchemaTableTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    static let tables: [(String, String)] = [
        ("transition", SchemaTable.markdown(Transition.self)),
        ("connection", SchemaTable.markdown(ConnectionRecord.self)),
        ("lingerer", SchemaTable.markdown(LingererRecord.self)),
        ("finding", SchemaTable.markdown(FindingRecord.self)),
        ("diagnosis", SchemaTable.markdown(DiagnosisRecord.self)),
        ("thresholds", FindingThresholds.markdown),
        ("summary", SchemaTable.markdown(SummaryRecord.self)),
        ("census", SchemaTable.markdown(CensusRecord.self)),
        ("report", SchemaTable.markdown(ReportRecord.self)),
        ("doctor", SchemaTable.markdown(DoctorRecord.self)),
        ("churn", SchemaTable.markdown(ChurnRecord.self)),
        ("port_pressure", SchemaTable.markdown(PortPressureRecord.self)),
        ("port_range", SchemaTable.markdown(PortRangeRecord.self)),
        ("leak", SchemaTable.markdown(LeakRecord.self)),
        ("stack", SchemaTable.markdown(StackRecord.self)),
    ]

    /// The text between `<!-- schema:NAME -->` and `<!-- /schema -->`.
    static func block(_ name: String, in text: String) -> Range<String.Index>? {
        guard let start = text.range(of: "<!-- schema:\(name) -->\n"),
            let end = text.range(of: "<!-- /schema -->", range: start.upperBound..<text.endIndex)
        else { return nil }
        return start.upperBound..<end.lowerBound
    }

    @Test func readmeTablesMatchTheDeclarations() throws {
        var text = try String(contentsOf: Self.readme, encoding: .utf8)
        if ProcessInfo.processInfo.environment["TCPTRACE_UPDATE_README"] == "1" {
            for (name, table) in Self.tables {
                let r = try #require(Self.block(name, in: text), "README has no schema:\(name) block")
                text.replaceSubrange(r, with: table)
            }
            text = try MetricFamilyTests.generated(text)
            try text.write(to: Self.readme, atomically: true, encoding: .utf8)
        }
        for (name, table) in Self.tables {
            let r = try #require(Self.block(name, in: text), "README has no schema:\(name) block")
            #expect(String(text[r]) == table, "README's \(name) table is stale: TCPTRACE_UPDATE_README=1 swift test --filter SchemaTableTests")
        }
    }

    @Test func tablesListEveryFieldTheLinesHave() {
        // Every key a written line has is a row of its table (nested ones as owner.pid).
        var t = Transition()
        t.owner = Owner(pid: 1, comm: "a")
        t.counters = TCPCounters()
        var line: [UInt8] = []
        JSONLines.append(t, to: &line)
        let table = SchemaTable.markdown(Transition.self)
        for key in ["type", "v", "time", "cookie", "family", "laddr", "lport", "raddr", "rport", "old", "new", "ms_in_old",
                    "pid", "comm", "owner", "owner.pid", "owner.comm", "inode", "rcv_queue", "tcp", "tcp.bytes_acked"] {
            #expect(table.contains("| `\(key)` |"), "\(key)")
            let leaf = key.split(separator: ".").last.map(String.init) ?? key
            #expect(String(decoding: line, as: UTF8.self).contains("\"\(leaf)\":"), "\(key)")
        }
        #expect(SchemaTable.markdown(ConnectionRecord.self).contains("| `timeline[].state` | string |"))
        #expect(SchemaTable.markdown(LingererRecord.self).contains("| `holder.fd` | integer \\| null |"))
    }
}
