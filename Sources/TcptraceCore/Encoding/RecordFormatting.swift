extension TextLines {
    /// One line per finished connection.
    @inlinable
    public func append(_ c: ConnectionRecord, to out: inout [UInt8]) {
        var r = c
        appendRecord(&r, to: &out)
    }

    /// A lingerer alert; `color` adds ANSI emphasis (only when writing to a terminal).
    public func append(_ l: LingererRecord, color: Bool, to out: inout [UInt8]) {
        var r = l
        appendRecord(&r, emphasis: color ? (l.event == .lingering ? "\u{1b}[1;31m" : "\u{1b}[32m") : nil, to: &out)
    }

    /// A record's line inside an ANSI `emphasis` (nil: plain), the newline after the reset.
    public func appendRecord<R: Record>(_ record: inout R, emphasis: String?, to out: inout [UInt8]) {
        guard let emphasis else { return appendRecord(&record, to: &out) }
        out.append(contentsOf: emphasis.utf8)
        appendRecord(&record, to: &out)
        out.removeLast()
        out.append(contentsOf: "\u{1b}[0m\n".utf8)
    }
}
