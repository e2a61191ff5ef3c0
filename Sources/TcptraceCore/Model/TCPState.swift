/// A kernel TCP state (include/net/tcp_states.h), spelled as the kernel spells it.
/// Unknown numbers are kept, not rejected: a newer kernel may add states.
public struct TCPState: RawRepresentable, Hashable, Comparable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let established = TCPState(rawValue: 1)
    public static let synSent = TCPState(rawValue: 2)
    public static let synRecv = TCPState(rawValue: 3)
    public static let finWait1 = TCPState(rawValue: 4)
    public static let finWait2 = TCPState(rawValue: 5)
    public static let timeWait = TCPState(rawValue: 6)
    public static let close = TCPState(rawValue: 7)
    public static let closeWait = TCPState(rawValue: 8)
    public static let lastAck = TCPState(rawValue: 9)
    public static let listen = TCPState(rawValue: 10)
    public static let closing = TCPState(rawValue: 11)
    public static let newSynRecv = TCPState(rawValue: 12)
    public static let boundInactive = TCPState(rawValue: 13)

    static let names: [String] = [
        "UNKNOWN_0", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
        "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV", "BOUND_INACTIVE",
    ]

    /// The same names as static text (for the formatting fast path), nil when unknown.
    @inlinable @inline(__always)
    public var staticName: StaticString? {
        switch rawValue {
        case 1: return "ESTABLISHED"
        case 2: return "SYN_SENT"
        case 3: return "SYN_RECV"
        case 4: return "FIN_WAIT1"
        case 5: return "FIN_WAIT2"
        case 6: return "TIME_WAIT"
        case 7: return "CLOSE"
        case 8: return "CLOSE_WAIT"
        case 9: return "LAST_ACK"
        case 10: return "LISTEN"
        case 11: return "CLOSING"
        case 12: return "NEW_SYN_RECV"
        case 13: return "BOUND_INACTIVE"
        default: return nil
        }
    }

    public var isKnown: Bool { rawValue >= 1 && Int(rawValue) < Self.names.count }

    /// The kernel's name, or `UNKNOWN_<n>` for a number this build does not know.
    public var name: String {
        isKnown ? Self.names[Int(rawValue)] : "UNKNOWN_\(rawValue)"
    }

    public init?(name: String) {
        if let i = Self.names.firstIndex(of: name), i > 0 {
            self.rawValue = UInt8(i)
        } else if name.hasPrefix("UNKNOWN_"), let n = UInt8(name.dropFirst(8)) {
            self.rawValue = n
        } else {
            return nil
        }
    }

    static let utf8Names: [[UInt8]] = names.map { Array($0.utf8) }

    /// From the name's UTF-8 bytes, without a String for the known names.
    public init?(utf8 b: UnsafeBufferPointer<UInt8>) {
        for i in 1..<Self.utf8Names.count where Self.utf8Names[i].count == b.count && Self.utf8Names[i].elementsEqual(b) {
            self.init(rawValue: UInt8(i))
            return
        }
        guard b.count <= 16 else { return nil }
        self.init(name: String(decoding: b, as: UTF8.self))
    }

    public static func < (a: TCPState, b: TCPState) -> Bool { a.rawValue < b.rawValue }
}

extension TCPState: CustomStringConvertible {
    public var description: String { name }
}
