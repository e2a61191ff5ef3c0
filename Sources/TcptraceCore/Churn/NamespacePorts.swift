/// What decides how many connections one source address can open to one destination in a
/// network namespace: its `ip_local_port_range` minus `ip_local_reserved_ports`, and whether
/// `tcp_tw_reuse` lets connect() take a port still held by TIME_WAIT.
public struct NamespacePorts: Hashable, Sendable {
    public var range: PortRange
    /// Ports of `range` listed in ip_local_reserved_ports (connect() never picks them).
    public var reserved: Int
    /// net.ipv4.tcp_tw_reuse: 0 off, 1 on, 2 loopback only (the default); nil: unreadable.
    public var twReuse: Int?
    /// net.ipv4.tcp_timestamps: reuse needs them (0: off).
    public var timestamps: Int?

    public init(range: PortRange, reserved: Int, twReuse: Int?, timestamps: Int?) {
        self.range = range
        self.reserved = reserved
        self.twReuse = twReuse
        self.timestamps = timestamps
    }

    /// The local ports connect() can pick, per source address and destination.
    public var usable: Int { max(0, range.size - reserved) }

    /// Whether a new connect() from `local` to `remote` may take a port held by TIME_WAIT:
    /// tcp_tw_reuse=1, or 2 when either address is loopback (tcp_twsk_unique), with timestamps on.
    public func reuseApplies(local: IPAddress, remote: IPAddress) -> Bool {
        guard timestamps != 0 else { return false }
        switch twReuse {
        case 1: return true
        case 2: return local.isLoopback || remote.isLoopback
        default: return false
        }
    }

    /// Ports of `range` in an ip_local_reserved_ports list ("8080,9000-9100"); nil when malformed.
    public static func reservedCount(_ text: String, in range: PortRange) -> Int? {
        var taken: [ClosedRange<Int>] = []
        for part in text.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == " " }) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2, let lo = Int(bounds[0]), let hi = Int(bounds.last!), lo <= hi
            else { return nil }
            let a = max(lo, Int(range.low)), b = min(hi, Int(range.high))
            if a <= b { taken.append(a...b) }
        }
        taken.sort { $0.lowerBound < $1.lowerBound }
        var count = 0, next = Int.min
        for r in taken {
            let a = max(r.lowerBound, next)
            if a <= r.upperBound { count += r.upperBound - a + 1 }
            next = max(next, r.upperBound + 1)
        }
        return count
    }
}

extension IPAddress {
    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        switch self {
        case .v4(let a): return a >> 24 == 127
        case .v6(let hi, let lo): return hi == 0 && lo == 1
        }
    }
}
