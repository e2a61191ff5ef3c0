/// Reads the fields of one object from its members (found by `JSONReader.members`).
public struct FieldReader: FieldVisitor {
    @usableFromInline let reader: JSONReader
    @usableFromInline let members: [JSONReader.Member]
    /// The first field whose value was bad (its path, `owner.pid` for a nested one), and the
    /// first required field that was missing.
    public var badField: String?
    public var missingField: String?
    @usableFromInline var next = 0

    @inlinable init(reader: JSONReader, members: [JSONReader.Member]) {
        self.reader = reader
        self.members = members
    }

    /// What was wrong, bad values first (as the line reads), as the error message says it.
    public var problem: String? {
        if let badField { return "bad value for \"\(badField)\"" }
        if let missingField { return "no \"\(missingField)\" field" }
        return nil
    }

    public mutating func field<F: FieldFormat>(
        _ name: StaticString, _ value: inout F.Value, _ format: F.Type, text: TextStyle, required: Bool,
        _ meaning: StaticString
    ) {
        // Lines are written in declaration order: look where the last field ended first.
        var found: JSONReader.Member? = nil
        for k in 0..<members.count {
            let m = members[(next &+ k) % members.count]
            if reader.keyEquals(m, name) {
                found = m
                next = (next &+ k &+ 1) % members.count
                break
            }
        }
        guard let m = found else {
            if required && missingField == nil { missingField = name.description }
            return
        }
        var p = reader
        p.i = m.value.lowerBound
        do throws(RecordLineError) {
            if let v = try F.read(&p), p.i == m.value.upperBound {
                value = v
                return
            }
            if badField == nil { badField = name.description }
        } catch {
            // A nested object names its own bad field.
            if badField == nil {
                if case .badField(let inner) = error { badField = "\(name).\(inner)" } else { badField = name.description }
            }
        }
    }
}
