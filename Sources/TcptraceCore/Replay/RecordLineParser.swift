/// Reads back one JSON line that `JSONLines` wrote, for offline replay (`report`). Pure and
/// allocation-light: the line's members are found once, then the record's own declaration
/// (`Transition.fields`) reads each field it declares; unknown fields are skipped. It never
/// traps on bad input: every failure is a `RecordLineError` naming what was wrong.
public enum RecordLine: Sendable, Equatable {
    case transition(Transition)
    /// A record of another type (`connection`, `summary`, …): passed over, its time kept.
    case other(type: String, time: WallTime?)
    /// An empty or all-blank line.
    case blank
}

public enum RecordLineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not a JSON object, or a transition without a required field or with a wrong value.
    case malformed(String)
    /// `v` is not the schema version this build reads.
    case unsupportedVersion(Int64)
    /// A field's value is not of its declared type (`owner.pid` for a nested field).
    case badField(String)

    public var description: String {
        switch self {
        case .malformed(let why): return why
        case .badField(let path): return "bad value for \"\(path)\""
        case .unsupportedVersion(let v):
            return "schema version \(v) is not supported (this build reads version \(JSONLines.schemaVersion))"
        }
    }
}

public enum RecordLineParser {
    public static func parse(_ line: [UInt8]) -> Result<RecordLine, RecordLineError> {
        line.withUnsafeBufferPointer { parse($0) }
    }

    public static func parse(_ line: UnsafeBufferPointer<UInt8>) -> Result<RecordLine, RecordLineError> {
        switch read(line, as: Transition.self) {
        case .success(.some(let t)): return .success(.transition(t))
        case .success(.none): return .success(.blank)
        case .failure(.otherType(let type, let time)): return .success(.other(type: type, time: time))
        case .failure(.bad(let e)): return .failure(e)
        }
    }

    /// Why a line is not a record of the asked type.
    public enum ReadFailure: Error {
        /// A well-formed line of another type.
        case otherType(String, WallTime?)
        case bad(RecordLineError)
    }

    /// One line as a record of type `R`, read through `R`'s declaration; nil for a blank line.
    public static func read<R: Record>(_ line: [UInt8], as type: R.Type) -> Result<R?, ReadFailure> {
        line.withUnsafeBufferPointer { read($0, as: type) }
    }

    public static func read<R: Record>(_ line: UnsafeBufferPointer<UInt8>, as: R.Type) -> Result<R?, ReadFailure> {
        var p = JSONReader(bytes: line)
        p.skipSpace()
        if p.atEnd { return .success(nil) }
        let members: [JSONReader.Member]
        do throws(RecordLineError) {
            members = try p.members(depth: 0)
            p.skipSpace()
            if !p.atEnd { throw p.fail("text after the object") }
        } catch {
            return .failure(.bad(error))
        }
        // The header every record has: type, v, time.
        var header = RecordHeader()
        var r = FieldReader(reader: p, members: members)
        RecordHeader.fields(&header, &r)
        if let v = header.version, v != Int64(JSONLines.schemaVersion) { return .failure(.bad(.unsupportedVersion(v))) }
        guard let type = header.type else { return .failure(.bad(.malformed("no \"type\" field"))) }
        guard type == R.type.description else { return .failure(.otherType(type, header.time)) }
        var record = R()
        var fields = FieldReader(reader: p, members: members)
        R.fields(&record, &fields)
        // As the line reads: a bad value first, then a missing version, time or field.
        if let bad = r.badField ?? fields.badField { return .failure(.bad(.badField(bad))) }
        guard header.version != nil else { return .failure(.bad(.malformed("no \"v\" field"))) }
        guard let time = header.time else { return .failure(.bad(.malformed("no \"time\" field"))) }
        if let missing = fields.missingField { return .failure(.bad(.malformed("no \"\(missing)\" field"))) }
        record.time = time
        return .success(record)
    }
}

/// `type`, `v` and `time`, which every record line starts with (read leniently: a record of a
/// type this build does not replay is passed over even if its header is odd).
struct RecordHeader: FieldGroup {
    var type: String?
    var version: Int64?
    var time: WallTime?

    static func fields<V: FieldVisitor>(_ r: inout RecordHeader, _ v: inout V) {
        v.field("type", &r.type, Nullable<Text>.self, text: .hidden, required: false, "the record type")
        v.field("v", &r.version, Nullable<Signed<Int64>>.self, text: .hidden, required: false, "schema version")
        v.field("time", &r.time, Nullable<Timestamp>.self, text: .hidden, required: false, "RFC 3339, UTC, nanoseconds")
    }
}
