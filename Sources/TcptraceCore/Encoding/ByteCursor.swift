/// A write position in memory reserved by `Array.appendThroughCursor`: plain stores, no
/// capacity or uniqueness checks per field. The caller guarantees the reserved bound.
///
/// Some writers store whole words and may write up to `overrun` bytes past the position
/// they leave (bytes that what follows overwrites, or that are never appended):
/// `appendThroughCursor` reserves that much beyond the bound.
public struct ByteCursor {
    @usableFromInline var p: UnsafeMutablePointer<UInt8>

    /// The most bytes a writer stores past the position it leaves (`words`: 32 - count).
    @inlinable public static var overrun: Int { 32 }

    /// The largest bound `appendThroughCursor` reserves in the array itself (every per-event
    /// record's bound is far below it).
    @inlinable public static var directLimit: Int { 16 << 10 }

    @inlinable init(_ p: UnsafeMutablePointer<UInt8>) { self.p = p }

    @inlinable @inline(__always)
    public mutating func byte(_ b: UInt8) {
        p.pointee = b
        p += 1
    }

    /// Two bytes with one store (the `,"` and `":` around every JSON key).
    @inlinable @inline(__always)
    public mutating func two(_ a: UInt8, _ b: UInt8) {
        UnsafeMutableRawPointer(p).storeBytes(of: UInt16(a) | UInt16(b) << 8, as: UInt16.self)
        p += 2
    }

    /// A JSON key, `,"name":` (`"name":` without `comma`), as at most two word stores: once
    /// inlined with a literal name every byte is a constant, so the words fold into two
    /// immediates, as if the whole key were one literal. Up to 7 bytes past the key are
    /// written too (zeros, within `overrun`; what follows overwrites them).
    @inlinable @inline(__always)
    public mutating func jsonKey(_ name: StaticString, comma: Bool) {
        let n = name.utf8CodeUnitCount
        let open = comma ? 2 : 1
        let k = open &+ n &+ 2
        guard k <= 16 else {
            if comma { two(UInt8(ascii: ","), UInt8(ascii: "\"")) } else { byte(UInt8(ascii: "\"")) }
            ascii(name)
            two(UInt8(ascii: "\""), UInt8(ascii: ":"))
            return
        }
        let s = name.utf8Start
        // Written out, not a loop: nothing is left for the optimizer to unroll.
        let lo =
            Self.keyByte(s, n, open, 0) | Self.keyByte(s, n, open, 1) &<< 8 | Self.keyByte(s, n, open, 2) &<< 16
            | Self.keyByte(s, n, open, 3) &<< 24 | Self.keyByte(s, n, open, 4) &<< 32
            | Self.keyByte(s, n, open, 5) &<< 40 | Self.keyByte(s, n, open, 6) &<< 48
            | Self.keyByte(s, n, open, 7) &<< 56
        let d = UnsafeMutableRawPointer(p)
        d.storeBytes(of: lo.littleEndian, as: UInt64.self)
        if k > 8 {
            let hi =
                Self.keyByte(s, n, open, 8) | Self.keyByte(s, n, open, 9) &<< 8 | Self.keyByte(s, n, open, 10) &<< 16
                | Self.keyByte(s, n, open, 11) &<< 24 | Self.keyByte(s, n, open, 12) &<< 32
                | Self.keyByte(s, n, open, 13) &<< 40 | Self.keyByte(s, n, open, 14) &<< 48
                | Self.keyByte(s, n, open, 15) &<< 56
            d.storeBytes(of: hi.littleEndian, toByteOffset: 8, as: UInt64.self)
        }
        p += k
    }

    /// Byte `j` of the key `,"name":` whose name (`n` bytes at `s`) starts at `open`; 0 past it.
    @inlinable @inline(__always)
    static func keyByte(_ s: UnsafePointer<UInt8>, _ n: Int, _ open: Int, _ j: Int) -> UInt64 {
        if j < open { return j == open &- 1 ? 0x22 : 0x2c }  // " ,
        if j < open &+ n { return UInt64(s[j &- open]) }
        if j == open &+ n { return 0x22 }  // "
        if j == open &+ n &+ 1 { return 0x3a }  // :
        return 0
    }

    @inlinable @inline(__always)
    public mutating func ascii(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        Self.copy(to: p, from: UnsafeRawPointer(s.utf8Start), count: n)
        p += n
    }

    /// The first `count` (at most 32) bytes of `w`, as four word stores (up to 32 - `count`
    /// bytes past the position are written too, within `overrun`).
    @inlinable @inline(__always)
    mutating func words(_ w: (UInt64, UInt64, UInt64, UInt64), count: Int) {
        let d = UnsafeMutableRawPointer(p)
        d.storeBytes(of: w.0, as: UInt64.self)
        d.storeBytes(of: w.1, toByteOffset: 8, as: UInt64.self)
        d.storeBytes(of: w.2, toByteOffset: 16, as: UInt64.self)
        d.storeBytes(of: w.3, toByteOffset: 24, as: UInt64.self)
        p += count
    }

    @inlinable @inline(__always)
    public mutating func bytes(_ b: UnsafeRawBufferPointer) {
        guard let base = b.baseAddress else { return }
        Self.copy(to: p, from: base, count: b.count)
        p += b.count
    }

    /// Copies up to 32 bytes with (overlapping) word loads and stores instead of a memmove
    /// call: the fields and literals of a line are that short. Source and destination never
    /// overlap here.
    @inlinable @inline(__always)
    static func copy(to dst: UnsafeMutablePointer<UInt8>, from src: UnsafeRawPointer, count n: Int) {
        let d = UnsafeMutableRawPointer(dst)
        if n >= 8 {
            if n <= 16 {
                let a = src.loadUnaligned(as: UInt64.self), b = src.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
                d.storeBytes(of: a, as: UInt64.self)
                d.storeBytes(of: b, toByteOffset: n - 8, as: UInt64.self)
            } else if n <= 32 {
                let a = src.loadUnaligned(as: UInt64.self), b = src.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                let c = src.loadUnaligned(fromByteOffset: n - 16, as: UInt64.self)
                let e = src.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
                d.storeBytes(of: a, as: UInt64.self)
                d.storeBytes(of: b, toByteOffset: 8, as: UInt64.self)
                d.storeBytes(of: c, toByteOffset: n - 16, as: UInt64.self)
                d.storeBytes(of: e, toByteOffset: n - 8, as: UInt64.self)
            } else {
                d.copyMemory(from: src, byteCount: n)
            }
        } else if n >= 4 {
            let a = src.loadUnaligned(as: UInt32.self), b = src.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
            d.storeBytes(of: a, as: UInt32.self)
            d.storeBytes(of: b, toByteOffset: n - 4, as: UInt32.self)
        } else if n >= 2 {
            let a = src.loadUnaligned(as: UInt16.self), b = src.loadUnaligned(fromByteOffset: n - 2, as: UInt16.self)
            d.storeBytes(of: a, as: UInt16.self)
            d.storeBytes(of: b, toByteOffset: n - 2, as: UInt16.self)
        } else if n == 1 {
            dst.pointee = src.load(as: UInt8.self)
        }
    }

    /// Lowercase hex, no leading zeros.
    @inlinable
    public mutating func hex(_ value: UInt64) {
        let hex: StaticString = "0123456789abcdef"
        var shift = 60
        while shift > 0 && (value >> UInt64(shift)) & 0xf == 0 { shift -= 4 }
        while shift >= 0 {
            byte(hex.utf8Start[Int((value >> UInt64(shift)) & 0xf)])
            shift -= 4
        }
    }

    /// The UTF-8 bytes of `s`, unescaped.
    @inlinable
    public mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
    }

    /// Decimal digits of `value`, zero-padded to `width`. Inlined: `width` is a constant at
    /// every call, so only one of these tests remains; a single digit (pids, ports, counters
    /// and most millisecond integer parts below 10) and the fixed-width fractions (3 digits of
    /// milliseconds, 9 of the time's nanoseconds) are written in place without a call, the
    /// rest by `digits`.
    @inlinable @inline(__always)
    public mutating func decimal(_ value: UInt64, width: Int = 1) {
        if width <= 1 && value < 10 {
            byte(UInt8(truncatingIfNeeded: value) &+ 48)
        } else if width <= 1 && value < 100_000 {
            p = Self.fewDigits(UInt32(truncatingIfNeeded: value), at: p)
        } else if width <= 1 && value <= UInt64(UInt32.max) {
            p = Self.digits32(UInt32(truncatingIfNeeded: value), at: p)
        } else if width == 3 && value < 1000 {
            threeDigits(UInt32(truncatingIfNeeded: value))
        } else if width == 9 && value < 1_000_000_000 {
            nineDigits(UInt32(truncatingIfNeeded: value))
        } else {
            digits(value, width: width)
        }
    }

    /// Two digits of `v` < 100 with one store.
    @inlinable @inline(__always)
    mutating func pair(_ v: UInt32) {
        let pairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
        let two = UnsafeRawPointer(pairs.utf8Start).loadUnaligned(fromByteOffset: Int(v) &* 2, as: UInt16.self)
        UnsafeMutableRawPointer(p).storeBytes(of: two, as: UInt16.self)
        p += 2
    }

    /// Exactly three digits of `v` < 1000 (leading zeros kept).
    @inlinable @inline(__always)
    mutating func threeDigits(_ v: UInt32) {
        let h = v / 100
        byte(UInt8(truncatingIfNeeded: h) &+ 48)
        pair(v &- h &* 100)
    }

    /// Exactly nine digits of `v` < 10^9 (leading zeros kept): four pairs and a digit.
    @inlinable @inline(__always)
    mutating func nineDigits(_ v: UInt32) {
        let high = v / 100_000, low = v &- high &* 100_000  // 4 and 5 digits
        let a = high / 100
        pair(a)
        pair(high &- a &* 100)
        threeDigits(low / 100)
        pair(low % 100)
    }

    /// The general case: the digit count from comparisons, then two digits per division
    /// written right to left straight into place (no stack buffer and copy). Out of line,
    /// with the position passed and returned in registers (nothing goes through memory).
    @inlinable @inline(__always)
    public mutating func digits(_ value: UInt64, width: Int) {
        p = Self.digits(value, width: width, at: p)
    }

    @inlinable @inline(never)
    static func digits(_ value: UInt64, width: Int, at start: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        // Digits: floor(log10) from the bit length (1233/4096 ~ log10(2)), corrected by one
        // comparison with the power of ten at that guess (0 has one digit).
        let bits = 64 &- (value | 1).leadingZeroBitCount
        let guess = (bits &* 1233) >> 12
        let n = guess &+ ((value | 1) >= Self.powerOf10(guess) ? 1 : 0)
        let p = width > n ? zeros(width &- n, at: start) : start
        let pairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
        let table = UnsafeRawPointer(pairs.utf8Start)
        let out = UnsafeMutableRawPointer(p)
        var i = n
        var v = value
        // Four digits a step: one division by 10^4, then the two pairs of the remainder
        // (r / 100 as a multiply and shift, exact for r < 10^4).
        while v >= 10_000 {
            let (q, r) = v.quotientAndRemainder(dividingBy: 10_000)
            let r32 = UInt32(truncatingIfNeeded: r)
            let high = (r32 &* 5243) >> 19
            let low = r32 &- high &* 100
            i &-= 4
            out.storeBytes(of: table.loadUnaligned(fromByteOffset: Int(high) &* 2, as: UInt16.self), toByteOffset: i, as: UInt16.self)
            out.storeBytes(of: table.loadUnaligned(fromByteOffset: Int(low) &* 2, as: UInt16.self), toByteOffset: i &+ 2, as: UInt16.self)
            v = q
        }
        while v >= 100 {
            let (q, r) = v.quotientAndRemainder(dividingBy: 100)
            i &-= 2
            out.storeBytes(of: table.loadUnaligned(fromByteOffset: Int(r) &* 2, as: UInt16.self), toByteOffset: i, as: UInt16.self)
            v = q
        }
        if v >= 10 {
            out.storeBytes(of: table.loadUnaligned(fromByteOffset: Int(v) &* 2, as: UInt16.self), as: UInt16.self)
        } else {
            out.storeBytes(of: UInt8(truncatingIfNeeded: v) &+ 48, as: UInt8.self)
        }
        return p + n
    }

    /// 10 ≤ `v` < 100,000 (ports, pids, most counts), unpadded: the length from three
    /// comparisons, then pairs from the table, 32-bit arithmetic only. Cheaper than `digits`'
    /// bit-length guess, table jump and 64-bit division loop.
    @inlinable @inline(never)
    static func fewDigits(_ v: UInt32, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        let pairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
        let table = UnsafeRawPointer(pairs.utf8Start)
        let out = UnsafeMutableRawPointer(p)
        @inline(__always) func pair(_ x: UInt32, at offset: Int) {
            out.storeBytes(of: table.loadUnaligned(fromByteOffset: Int(x) &* 2, as: UInt16.self), toByteOffset: offset, as: UInt16.self)
        }
        if v < 100 {
            pair(v, at: 0)
            return p + 2
        }
        if v < 10_000 {
            let high = (v &* 5243) >> 19  // v / 100, exact below 43,699
            let low = v &- high &* 100
            if high < 10 {
                out.storeBytes(of: UInt8(truncatingIfNeeded: high) &+ 48, as: UInt8.self)
                pair(low, at: 1)
                return p + 3
            }
            pair(high, at: 0)
            pair(low, at: 2)
            return p + 4
        }
        let first = v / 10_000
        let rest = v &- first &* 10_000
        let high = (rest &* 5243) >> 19
        out.storeBytes(of: UInt8(truncatingIfNeeded: first) &+ 48, as: UInt8.self)
        pair(high, at: 1)
        pair(rest &- high &* 100, at: 3)
        return p + 5
    }

    /// 100,000 ≤ `v` (cookies, inodes, namespace numbers: 6 to 10 digits), unpadded: the part
    /// above the last five digits (1 to 5 digits), then those five, 32-bit arithmetic only.
    @inlinable @inline(never)
    static func digits32(_ v: UInt32, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        let high = v / 100_000
        let low = v &- high &* 100_000
        let q = high < 10 ? Self.oneDigit(high, at: p) : fewDigits(high, at: p)
        let pairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
        let table = UnsafeRawPointer(pairs.utf8Start)
        let out = UnsafeMutableRawPointer(q)
        let first = low / 10_000
        let rest = low &- first &* 10_000
        let mid = (rest &* 5243) >> 19  // rest / 100, exact below 43,699
        out.storeBytes(of: UInt8(truncatingIfNeeded: first) &+ 48, as: UInt8.self)
        out.storeBytes(of: table.loadUnaligned(fromByteOffset: Int(mid) &* 2, as: UInt16.self), toByteOffset: 1, as: UInt16.self)
        out.storeBytes(of: table.loadUnaligned(fromByteOffset: Int(rest &- mid &* 100) &* 2, as: UInt16.self), toByteOffset: 3, as: UInt16.self)
        return q + 5
    }

    @inlinable @inline(__always)
    static func oneDigit(_ v: UInt32, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        p.pointee = UInt8(truncatingIfNeeded: v) &+ 48
        return p + 1
    }

    /// `count` zeros (padding to a width), out of the way of the digits' registers.
    @inlinable @inline(never)
    static func zeros(_ count: Int, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        p.update(repeating: UInt8(ascii: "0"), count: count)
        return p + count
    }

    /// A dotted quad, host order (`a >> 24` first): each octet and its dot as one 4-byte
    /// store from a table, the position moved by its length. (The dot after the last octet
    /// and up to 2 bytes past it are written too, within `overrun`; what follows overwrites
    /// them.)
    @inlinable @inline(__always)
    public mutating func dottedQuad(_ a: UInt32) {
        // Octet i at bytes 4i..<4i+4: its digits, a dot, padding.
        let entries: StaticString = """
            0.  1.  2.  3.  4.  5.  6.  7.  8.  9.  10. 11. 12. 13. 14. 15. \
            16. 17. 18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29. 30. 31. \
            32. 33. 34. 35. 36. 37. 38. 39. 40. 41. 42. 43. 44. 45. 46. 47. \
            48. 49. 50. 51. 52. 53. 54. 55. 56. 57. 58. 59. 60. 61. 62. 63. \
            64. 65. 66. 67. 68. 69. 70. 71. 72. 73. 74. 75. 76. 77. 78. 79. \
            80. 81. 82. 83. 84. 85. 86. 87. 88. 89. 90. 91. 92. 93. 94. 95. \
            96. 97. 98. 99. 100.101.102.103.104.105.106.107.108.109.110.111.\
            112.113.114.115.116.117.118.119.120.121.122.123.124.125.126.127.\
            128.129.130.131.132.133.134.135.136.137.138.139.140.141.142.143.\
            144.145.146.147.148.149.150.151.152.153.154.155.156.157.158.159.\
            160.161.162.163.164.165.166.167.168.169.170.171.172.173.174.175.\
            176.177.178.179.180.181.182.183.184.185.186.187.188.189.190.191.\
            192.193.194.195.196.197.198.199.200.201.202.203.204.205.206.207.\
            208.209.210.211.212.213.214.215.216.217.218.219.220.221.222.223.\
            224.225.226.227.228.229.230.231.232.233.234.235.236.237.238.239.\
            240.241.242.243.244.245.246.247.248.249.250.251.252.253.254.255.
            """
        // Octet i's length with its dot, as an ASCII digit.
        let lengths: StaticString = """
            2222222222333333333333333333333333333333333333333333333333333333\
            3333333333333333333333333333333333334444444444444444444444444444\
            4444444444444444444444444444444444444444444444444444444444444444\
            4444444444444444444444444444444444444444444444444444444444444444
            """
        let e = UnsafeRawPointer(entries.utf8Start), n = lengths.utf8Start
        let d = UnsafeMutableRawPointer(p)
        var o = Int(a >> 24)
        d.storeBytes(of: e.loadUnaligned(fromByteOffset: o &* 4, as: UInt32.self), as: UInt32.self)
        var i = Int(n[o]) &- 48
        o = Int((a >> 16) & 0xff)
        d.storeBytes(of: e.loadUnaligned(fromByteOffset: o &* 4, as: UInt32.self), toByteOffset: i, as: UInt32.self)
        i &+= Int(n[o]) &- 48
        o = Int((a >> 8) & 0xff)
        d.storeBytes(of: e.loadUnaligned(fromByteOffset: o &* 4, as: UInt32.self), toByteOffset: i, as: UInt32.self)
        i &+= Int(n[o]) &- 48
        o = Int(a & 0xff)
        d.storeBytes(of: e.loadUnaligned(fromByteOffset: o &* 4, as: UInt32.self), toByteOffset: i, as: UInt32.self)
        i &+= Int(n[o]) &- 49  // without the last dot
        p += i
    }

    /// A byte in decimal (an IPv4 octet): 1-3 digits, at most one division.
    @inlinable @inline(__always)
    public mutating func octet(_ v: UInt8) {
        let pairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
        let table = pairs.utf8Start
        var rest = Int(v)
        if rest >= 100 {
            let hundreds = rest / 100
            byte(UInt8(truncatingIfNeeded: hundreds) &+ 48)
            rest &-= hundreds &* 100
        } else if rest < 10 {
            byte(UInt8(truncatingIfNeeded: rest) &+ 48)
            return
        }
        byte(table[rest &* 2])
        byte(table[rest &* 2 &+ 1])
    }

    /// 10^i for i in 0...19 (a constant table once compiled).
    @inlinable @inline(__always)
    static func powerOf10(_ i: Int) -> UInt64 {
        switch i {
        case 0: return 1
        case 1: return 10
        case 2: return 100
        case 3: return 1_000
        case 4: return 10_000
        case 5: return 100_000
        case 6: return 1_000_000
        case 7: return 10_000_000
        case 8: return 100_000_000
        case 9: return 1_000_000_000
        case 10: return 10_000_000_000
        case 11: return 100_000_000_000
        case 12: return 1_000_000_000_000
        case 13: return 10_000_000_000_000
        case 14: return 100_000_000_000_000
        case 15: return 1_000_000_000_000_000
        case 16: return 10_000_000_000_000_000
        case 17: return 100_000_000_000_000_000
        case 18: return 1_000_000_000_000_000_000
        default: return 10_000_000_000_000_000_000
        }
    }

    /// A TCP state's name: the known ones are static text, copied without a `String`.
    @inlinable @inline(__always)
    public mutating func state(_ s: TCPState) {
        if let name = s.staticName { ascii(name) } else { text(s.name) }
    }

    /// A JSON string literal, quotes included: at most 6 bytes per input byte plus 2.
    @inlinable
    public mutating func jsonString(_ s: String) {
        var s = s
        s.withUTF8 { jsonString(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// The same for a command name (at most `CommName.capacity` bytes of text). A kernel
    /// comm is at most 16 bytes: then the two words holding it are checked for bytes to escape
    /// eight at a time and, when there are none (always, in practice), stored whole after the
    /// quote, without a call; the closing quote goes after the text's length. Up to 16 bytes
    /// past the string are written too (within `overrun`, then overwritten).
    @inlinable @inline(__always)
    public mutating func jsonString(_ s: CommName) {
        let n = Int(s.length)
        if n <= 16 {
            let a = UInt64(littleEndian: s.words.0), b = UInt64(littleEndian: s.words.1)
            // Byte i of the text is bits 8i..8i+7; only the first n bytes are looked at.
            let maskA: UInt64 = n >= 8 ? ~0 : (1 &<< UInt64(8 &* n)) &- 1
            let maskB: UInt64 = n >= 16 ? ~0 : n <= 8 ? 0 : (1 &<< UInt64(8 &* (n &- 8))) &- 1
            if Self.escapeFlags(a) & maskA | Self.escapeFlags(b) & maskB == 0 {
                let d = UnsafeMutableRawPointer(p)
                d.storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
                d.storeBytes(of: s.words.0, toByteOffset: 1, as: UInt64.self)
                d.storeBytes(of: s.words.1, toByteOffset: 9, as: UInt64.self)
                d.storeBytes(of: UInt8(ascii: "\""), toByteOffset: n &+ 1, as: UInt8.self)
                p += n &+ 2
                return
            }
        }
        s.withUTF8 { jsonString(utf8: $0) }
    }

    /// The high bit of each byte of `x` that JSON must escape (below 0x20, `"`, `\`). A byte
    /// can also be flagged wrongly, but only above one flagged rightly (borrows run upward),
    /// so the word is flagged exactly when one of its bytes must be escaped.
    @inlinable @inline(__always)
    static func escapeFlags(_ x: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        let control = x &- 0x20 &* ones
        let quote = (x ^ 0x22 &* ones) &- ones
        let backslash = (x ^ 0x5c &* ones) &- ones
        return (control | quote | backslash) & ~x & high
    }

    /// A JSON string literal of UTF-8 text: copied at once when nothing needs escaping.
    @inlinable
    public mutating func jsonString(utf8 u: UnsafeRawBufferPointer) {
        byte(UInt8(ascii: "\""))
        var plain = true
        for b in u where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
            plain = false
            break
        }
        if plain {
            bytes(u)
        } else {
            for b in u {
                switch b {
                case UInt8(ascii: "\""): ascii("\\\"")
                case UInt8(ascii: "\\"): ascii("\\\\")
                case UInt8(ascii: "\n"): ascii("\\n")
                case UInt8(ascii: "\t"): ascii("\\t")
                case UInt8(ascii: "\r"): ascii("\\r")
                case 0..<0x20:
                    ascii("\\u00")
                    let hex: StaticString = "0123456789abcdef"
                    byte(hex.utf8Start[Int(b >> 4)])
                    byte(hex.utf8Start[Int(b & 0xf)])
                default: byte(b)
                }
            }
        }
        byte(UInt8(ascii: "\""))
    }
}
