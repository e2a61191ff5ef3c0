/// Formats with fields of their own (objects, lists of objects), for `SchemaTable`.
protocol NestedSchema {
    static func describe(into t: inout SchemaTable)
}

extension Object: NestedSchema {
    static func describe(into t: inout SchemaTable) {
        var g = G()
        G.fields(&g, &t)
    }
}

extension List: NestedSchema where F: NestedSchema {
    static func describe(into t: inout SchemaTable) { F.describe(into: &t) }
}

extension Nullable: NestedSchema where F: NestedSchema {
    static func describe(into t: inout SchemaTable) { F.describe(into: &t) }
}

// MARK: - Encoding whole records
