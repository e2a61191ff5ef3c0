/// Rows of a README schema table: `| field | type | meaning |`.
public struct SchemaTable: FieldVisitor {
    public var rows: [(name: String, type: String, meaning: String)] = []
    var prefix = ""
    public init() {}
    public mutating func field<F: FieldFormat>(
        _ name: StaticString, _ value: inout F.Value, _ format: F.Type, text: TextStyle, required: Bool,
        _ meaning: StaticString
    ) {
        let full = prefix + name.description
        rows.append((full, F.jsonType, meaning.description))
        // Nested objects list their fields too, as `owner.pid`.
        if let nested = F.self as? any NestedSchema.Type {
            let saved = prefix
            prefix = full + nested.step
            nested.describe(into: &self)
            prefix = saved
        }
    }

    /// The markdown table of a record, header fields included.
    public static func markdown<R: Record>(_ type: R.Type) -> String {
        var t = SchemaTable()
        t.rows = [
            ("type", "\"\(R.type)\"", "the record type"),
            ("v", "integer", "schema version, `\(JSONLines.schemaVersion)`"),
            ("time", "string", "RFC 3339, UTC, nanoseconds"),
        ]
        var r = R()
        R.fields(&r, &t)
        var out = "| field | type | meaning |\n|---|---|---|\n"
        for row in t.rows {
            let type = row.type.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|")
            out += "| `\(row.name)` | \(type) | \(row.meaning) |\n"
        }
        return out
    }
}
