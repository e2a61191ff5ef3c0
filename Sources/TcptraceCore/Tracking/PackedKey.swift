/// Three words that identify a group of sockets (addresses, ports, flags).
struct PackedKey: Equatable {
    var a: UInt64, b: UInt64, c: UInt64

    /// An address as two words plus a family bit: IPv4 in `low`, IPv6 in both.
    static func words(_ address: IPAddress) -> (high: UInt64, low: UInt64, v6: UInt64) {
        switch address {
        case .v4(let a): return (0, UInt64(a), 0)
        case .v6(let h, let l): return (h, l, 1)
        }
    }

    static func address(high: UInt64, low: UInt64, v6: Bool) -> IPAddress {
        v6 ? .v6(high, low) : .v4(UInt32(truncatingIfNeeded: low))
    }

    /// A premixed hash (`hash`) mixed once more with a hash table's seed.
    static func seeded(_ premix: Int, seed: Int) -> Int {
        PackedKey(a: UInt64(bitPattern: Int64(premix)), b: UInt64(bitPattern: Int64(seed)), c: 0).hash
    }

    /// Multiply-xorshift mixing (the splitmix64 finalizer) of each word in turn.
    var hash: Int {
        var h: UInt64 = 0x9e37_79b9_7f4a_7c15
        h = (h ^ a) &* 0xbf58_476d_1ce4_e5b9
        h ^= h >> 31
        h = (h ^ b) &* 0xbf58_476d_1ce4_e5b9
        h ^= h >> 31
        h = (h ^ c) &* 0x94d0_49bb_1331_11eb
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }
}
