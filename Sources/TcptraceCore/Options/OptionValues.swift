/// Parsers for option values. Each error message is one line, fit for the user.
public enum ValueParseError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        if case .invalid(let m) = self { return m }
        return ""
    }
}

public enum OptionValues {
    /// "500ms", "10s", "5m", "1h", "250us", "1.5s"; a bare number is seconds. Returns ns.
    public static func duration(_ text: String) throws(ValueParseError) -> UInt64 {
        let units: [(String, Double)] = [
            ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ]
        let trimmed = text.trimmingSpaces
        var number = Substring(trimmed)
        var scale = 1e9
        // Longest suffix first so "ms" is not read as "s".
        for (suffix, s) in units.sorted(by: { $0.0.count > $1.0.count }) where trimmed.hasSuffix(suffix) {
            number = trimmed.dropLast(suffix.count)
            scale = s
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let value = Double(number), value > 0, value * scale < 1e18
        else {
            throw .invalid("invalid duration '\(text)': expected a positive number with a unit, e.g. 500ms, 10s, 5m")
        }
        return UInt64(value * scale)
    }

    /// "80,443": 1 to `max` ports, each 1–65535.
    public static func ports(_ text: String, max: Int) throws(ValueParseError) -> [UInt16] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        var out: [UInt16] = []
        for p in parts {
            let s = p.trimmingSpaces
            guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt16(s), n > 0 else {
                throw .invalid("invalid port '\(s)' in '\(text)': expected numbers 1-65535 separated by commas")
            }
            if !out.contains(n) { out.append(n) }
        }
        guard out.count <= max else {
            throw .invalid("too many ports in '\(text)': at most \(max) per list")
        }
        return out
    }

    /// "4096", "256K", "8M", "1G": a power of two between `min` and `max` bytes.
    public static func byteSize(_ text: String, min: UInt64, max: UInt64) throws(ValueParseError) -> UInt64 {
        let s = text.trimmingSpaces.uppercased()
        var digits = Substring(s)
        var mult: UInt64 = 1
        for (suffix, m) in [("KIB", 1 << 10), ("MIB", 1 << 20), ("GIB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)]
        where s.hasSuffix(suffix) {
            digits = s.dropLast(suffix.count)
            mult = UInt64(m)
            break
        }
        guard let n = UInt64(digits), n > 0, n <= max / mult else {
            throw .invalid("invalid size '\(text)': expected bytes with an optional K, M or G suffix, e.g. 4M")
        }
        let bytes = n * mult
        guard bytes & (bytes - 1) == 0, bytes >= min, bytes <= max else {
            throw .invalid("invalid size '\(text)': must be a power of two from \(min) bytes to \(max >> 20) MiB")
        }
        return bytes
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
