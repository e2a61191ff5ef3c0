extension TextLines {
    /// One line per finished connection.
    @inlinable
    public func append(_ c: ConnectionRecord, to out: inout [UInt8]) {
        var r = c
        appendRecord(&r, to: &out)
    }

    /// A lingerer alert; `color` adds ANSI emphasis (only when writing to a terminal).
    public func append(_ l: LingererRecord, color: Bool, to out: inout [UInt8]) {
        if color { out.append(contentsOf: (l.event == .lingering ? "\u{1b}[1;31m" : "\u{1b}[32m").utf8) }
        var r = l
        appendRecord(&r, to: &out)
        if color {
            out.removeLast()  // the newline goes after the reset
            out.append(contentsOf: "\u{1b}[0m\n".utf8)
        }
    }
}
