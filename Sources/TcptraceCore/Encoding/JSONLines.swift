/// JSON-lines encoding of the records. Field names and types are a contract (README, "JSON
/// schema"): change them only with a bump of `schemaVersion`.
public enum JSONLines {
    public static let schemaVersion = 1

    static func appendHeader(_ type: StaticString, time: WallTime, to out: inout [UInt8]) {
        var cache = RFC3339Cache()
        appendHeader(type, time: time, to: &out, cache: &cache)
    }

    static func appendHeader(_ type: StaticString, time: WallTime, to out: inout [UInt8], cache: inout RFC3339Cache) {
        out.appendASCII("{\"type\":\"")
        out.appendASCII(type)
        out.appendASCII("\",\"v\":")
        out.appendDecimal(UInt64(schemaVersion))
        out.appendASCII(",\"time\":\"")
        time.appendRFC3339(to: &out, cache: &cache)
        out.append(UInt8(ascii: "\""))
    }

    static func appendOptional(_ value: UInt64?, to out: inout [UInt8]) {
        if let value { out.appendDecimal(value) } else { out.appendASCII("null") }
    }

    /// One line of a declared record (`transition`, `connection`, `lingerer`), newline included.
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
