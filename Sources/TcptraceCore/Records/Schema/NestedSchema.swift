/// Formats with fields of their own (objects, lists of objects), for `SchemaTable`.
protocol NestedSchema {
    /// What joins the field's name to its members' (`owner.pid`, `timeline[].state`).
    static var step: String { get }
    static func describe(into t: inout SchemaTable)
}

extension Object: NestedSchema {
    static var step: String { "." }
    static func describe(into t: inout SchemaTable) {
        var g = G()
        G.fields(&g, &t)
    }
}

extension List: NestedSchema where F: NestedSchema {
    static var step: String { "[]." }
    static func describe(into t: inout SchemaTable) { F.describe(into: &t) }
}

extension Nullable: NestedSchema where F: NestedSchema {
    static var step: String { F.step }
    static func describe(into t: inout SchemaTable) { F.describe(into: &t) }
}

// MARK: - Encoding whole records
