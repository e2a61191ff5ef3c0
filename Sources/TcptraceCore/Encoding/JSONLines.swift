/// JSON-lines encoding of the records. Field names and types are a contract (README, "JSON
/// schema"): change them only with a bump of `schemaVersion`.
public enum JSONLines {
    public static let schemaVersion = 1

    /// One line of any declared record, newline included.
    @inlinable
    public static func append<R: Record>(_ record: R, to out: inout [UInt8]) {
        var cache = RFC3339Cache()
        var r = record
        append(&r, to: &out, timeCache: &cache)
    }

    /// The same, reusing the formatted second from `timeCache` (the live path).
    @inlinable @inline(__always)
    public static func append<R: Record>(_ record: R, to out: inout [UInt8], timeCache: inout RFC3339Cache) {
        var r = record
        append(&r, to: &out, timeCache: &timeCache)
    }

    /// The final `summary` line, newline included.
    public static func append(_ s: RunSummary, to out: inout [UInt8]) {
        append(SummaryRecord(s), to: &out)
    }
}
