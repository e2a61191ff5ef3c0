/// Markup text with escaping: `&`, `<`, `>`, quotes, and characters XML cannot carry at all
/// (control characters, shown as U+FFFD).
public struct Markup {
    public var s = ""
    public init() {}

    public mutating func raw(_ t: String) { s += t }
    public mutating func text(_ t: String) { s += Self.escape(t) }

    public static func escape(_ t: String) -> String {
        var out = ""
        out.reserveCapacity(t.utf8.count)
        for u in t.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default:
                let v = u.value
                if v < 0x20 || v == 0x7f || (v >= 0x80 && v < 0xa0) || v == 0xfffe || v == 0xffff {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ colour: String) {
        s += "<line x1=\"\(ChartAxis.fixed(x1, 1))\" y1=\"\(ChartAxis.fixed(y1, 1))\" x2=\"\(ChartAxis.fixed(x2, 1))\" y2=\"\(ChartAxis.fixed(y2, 1))\" stroke=\"\(colour)\"/>"
    }

    mutating func label(
        _ x: Double, _ y: Double, _ text: String, anchor: String, size: Int = 12, bold: Bool = false, colour: String = "#333",
        rotate: Bool = false
    ) {
        let xs = ChartAxis.fixed(x, 1), ys = ChartAxis.fixed(y, 1)
        s += "<text x=\"\(xs)\" y=\"\(ys)\" font-size=\"\(size)\" text-anchor=\"\(anchor)\" fill=\"\(colour)\""
        if bold { s += " font-weight=\"bold\"" }
        if rotate { s += " transform=\"rotate(-90 \(xs) \(ys))\"" }
        s += ">" + Self.escape(text) + "</text>"
    }
}
