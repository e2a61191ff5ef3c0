/// `net.ipv4.ip_local_port_range`: the ephemeral ports a kernel picks for connect().
public struct PortRange: Hashable, Sendable {
    public var low: UInt16
    public var high: UInt16
    public init(low: UInt16, high: UInt16) {
        self.low = low
        self.high = high
    }
    /// The kernel's default (32768 60999).
    public static let linuxDefault = PortRange(low: 32768, high: 60999)
    public var size: Int { high >= low ? Int(high) - Int(low) + 1 : 0 }
    public func contains(_ port: UInt16) -> Bool { port >= low && port <= high }
}
