/// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d), which dual-stack
/// sockets report, are normalized to IPv4 so that display and filters treat them alike.
public enum IPAddress: Hashable, Sendable {
    case v4(UInt32)  // host order: 127.0.0.1 is 0x7f00_0001
    case v6(UInt64, UInt64)  // big-endian halves: bytes 0-7, bytes 8-15

    /// From the kernel's network-order bytes: 4 significant for AF_INET, 16 for AF_INET6.
    public init(family: AddressFamily, bytes: some Collection<UInt8>) {
        var it = bytes.makeIterator()
        func next8() -> UInt64 {
            var v: UInt64 = 0
            for _ in 0..<8 { v = v << 8 | UInt64(it.next() ?? 0) }
            return v
        }
        switch family {
        case .ipv4:
            var v: UInt32 = 0
            for _ in 0..<4 { v = v << 8 | UInt32(it.next() ?? 0) }
            self = .v4(v)
        case .ipv6:
            let hi = next8(), lo = next8()
            if hi == 0 && lo >> 32 == 0xffff {
                self = .v4(UInt32(truncatingIfNeeded: lo))
            } else {
                self = .v6(hi, lo)
            }
        }
    }

    /// The same from the 16 bytes read as two big-endian words (`high`: bytes 0-7), without
    /// iterating: IPv4 is the top 4 bytes of `high`.
    @inlinable
    public init(family: AddressFamily, high: UInt64, low: UInt64) {
        switch family {
        case .ipv4: self = .v4(UInt32(truncatingIfNeeded: high >> 32))
        case .ipv6: self = high == 0 && low >> 32 == 0xffff ? .v4(UInt32(truncatingIfNeeded: low)) : .v6(high, low)
        }
    }

    public var family: AddressFamily {
        if case .v4 = self { return .ipv4 }
        return .ipv6
    }

    public var isUnspecified: Bool { self == .v4(0) || self == .v6(0, 0) }

    /// Dotted quad, or RFC 5952 text (lowercase, longest zero run compressed), through a cursor
    /// (at most 39 bytes). The dotted quad is written in place from a table (inlined: no call,
    /// the cursor stays in a register); IPv6 through `appendV6`.
    @inlinable @inline(__always)
    public func append(to c: inout ByteCursor) {
        if case .v4(let a) = self {
            c.dottedQuad(a)
        } else {
            appendV6(to: &c)
        }
    }

    @usableFromInline
    func appendV6(to c: inout ByteCursor) {
        guard case .v6(let hi, let lo) = self else { return }
        func group(_ i: Int) -> UInt16 {
            UInt16(truncatingIfNeeded: (i < 4 ? hi : lo) >> UInt64(48 - 16 * (i % 4)))
        }
        // Longest run of at least two zero groups; the first one on a tie.
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if group(i) == 0 {
                var j = i
                while j < 8 && group(j) == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { (bestStart, bestLen) = (i, j - i) }
                i = j
            } else {
                i += 1
            }
        }
        i = 0
        while i < 8 {
            if i == bestStart {
                if i == 0 { c.byte(UInt8(ascii: ":")) }
                c.byte(UInt8(ascii: ":"))
                i += bestLen
                continue
            }
            c.hex(UInt64(group(i)))
            if i < 7 { c.byte(UInt8(ascii: ":")) }
            i += 1
        }
    }

    public var text: String {
        var b: [UInt8] = []
        b.appendThroughCursor(maxBytes: 39) { append(to: &$0) }
        return String(decoding: b, as: UTF8.self)
    }

    /// Parses dotted-quad IPv4 or IPv6 text (with `::`, and a dotted IPv4 tail).
    /// From text bytes: a dotted quad without allocating, anything else through `init?(_:)`.
    public init?(utf8 b: UnsafeBufferPointer<UInt8>) {
        var v: UInt32 = 0, part: UInt32 = 0, digits = 0, dots = 0
        var quad = true
        for c in b {
            if c >= 48 && c <= 57 {
                part = part * 10 + UInt32(c - 48)
                digits += 1
                if digits > 3 || part > 255 { quad = false; break }
            } else if c == UInt8(ascii: ".") && digits > 0 && dots < 3 {
                v = v << 8 | part
                part = 0
                digits = 0
                dots += 1
            } else {
                quad = false
                break
            }
        }
        if quad && dots == 3 && digits > 0 {
            self = .v4(v << 8 | part)
            return
        }
        guard b.count <= 64, b.allSatisfy({ $0 < 0x80 }) else { return nil }
        self.init(String(decoding: b, as: UTF8.self))
    }

    public init?(_ text: some StringProtocol) {
        if let v4 = Self.parseV4(Substring(text)) {
            self = .v4(v4)
            return
        }
        guard let bytes = Self.parseV6(Substring(text)) else { return nil }
        self.init(family: .ipv6, bytes: bytes)
    }

    private static func parseV4(_ s: Substring) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCII), let n = UInt8(p) else { return nil }
            v = v << 8 | UInt32(n)
        }
        return v
    }

    private static func parseV6(_ s: Substring) -> [UInt8]? {
        var groups: [UInt16] = []
        var tailGroups: [UInt16] = []
        let gaps = s.ranges(of: "::")
        guard gaps.count <= 1 else { return nil }
        let halves = gaps.first.map { [s[..<$0.lowerBound], s[$0.upperBound...]] } ?? [s]
        func parseGroups(_ h: Substring, allowV4Tail: Bool) -> [UInt16]? {
            if h.isEmpty { return [] }
            var out: [UInt16] = []
            let parts = h.split(separator: ":", omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() {
                if allowV4Tail && i == parts.count - 1 && p.contains(".") {
                    guard let v4 = parseV4(p) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xffff))
                } else {
                    guard !p.isEmpty, p.count <= 4, let g = UInt16(p, radix: 16) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        if halves.count == 2 {
            guard let a = parseGroups(halves[0], allowV4Tail: false),
                let b = parseGroups(halves[1], allowV4Tail: true), a.count + b.count <= 7
            else { return nil }
            groups = a
            tailGroups = b
            groups += [UInt16](repeating: 0, count: 8 - a.count - b.count) + tailGroups
        } else {
            guard let a = parseGroups(s, allowV4Tail: true), a.count == 8 else { return nil }
            groups = a
        }
        return groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }
}

public enum AddressFamily: String, Sendable, Hashable, CaseIterable {
    case ipv4, ipv6
}
