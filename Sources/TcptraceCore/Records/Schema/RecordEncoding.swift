extension Record {
    /// At most this many bytes for the line (JSON or text).
    @inlinable @inline(__always)
    public func maxLineBytes() -> Int {
        var r = self
        return Self.maxLineBytes(&r)
    }

    /// The same without a copy of the record.
    @inlinable @inline(__always)
    public static func maxLineBytes(_ r: inout Self) -> Int {
        var bound = ByteBound()
        Self.fields(&r, &bound)
        return bound.bytes &+ 96
    }
}

extension JSONLines {
    /// One line of any record, newline included, reusing the formatted second from `timeCache`.
    @inlinable @inline(__always)
    public static func append<R: Record>(_ record: inout R, to out: inout [UInt8], timeCache: inout RFC3339Cache) {
        out.appendThroughCursor(maxBytes: R.maxLineBytes(&record)) { c in
            c.ascii(R.jsonPrefix)
            c.decimal(UInt64(schemaVersion))
            c.ascii(",\"time\":\"")
            record.time.appendRFC3339(to: &c, cache: &timeCache)
            c.byte(UInt8(ascii: "\""))
            var w = JSONFieldWriter(cursor: c, first: false)
            R.fields(&record, &w)
            c = w.cursor
            c.ascii("}\n")
        }
    }
}

extension TextLines {
    /// One text line of any record: local time, the record's tag, then its shown fields.
    @inlinable
    public func appendRecord<R: Record>(_ record: inout R, to out: inout [UInt8]) {
        out.appendThroughCursor(maxBytes: R.maxLineBytes(&record)) { c in
            record.time.appendTimeOfDay(utcOffsetSeconds: utcOffsetSeconds, to: &c)
            if R.textTag.utf8CodeUnitCount > 0 {
                c.byte(UInt8(ascii: " "))
                c.ascii(R.textTag)
            }
            var w = TextFieldWriter(cursor: c, first: false)
            R.fields(&record, &w)
            c = w.cursor
            c.byte(UInt8(ascii: "\n"))
        }
    }
}
