/// Outbound sockets towards one destination (remote address, remote port): local port in the
/// ephemeral range and not a listening port. Each holds one local port: an open one (connecting,
/// established, closing) while it lasts, a TIME_WAIT one for 60 s (TCP_TIMEWAIT_LEN). A connect()
/// from the same source address to the same destination needs a port not held: at
/// `portRange.size` per source address, connect() fails with EADDRNOTAVAIL (unless tcp_tw_reuse
/// lets it take a TIME_WAIT port; an open connection's port is never taken).
public struct PortExhaustion: Hashable, Sendable {
    public var remote: IPAddress
    public var remotePort: UInt16
    /// The kernel's timewait sockets to this destination whose local port is in the ephemeral
    /// range: TIME_WAIT, and FIN_WAIT2 once the application closed (no file).
    public var timeWait: Int
    /// Outbound sockets to it in the other states (SYN_SENT, ESTABLISHED, CLOSE_WAIT, a FIN_WAIT
    /// still open…): they hold their ports until they close.
    public var open: Int
    /// Distinct local (source) addresses among them all.
    public var localAddresses: Int
    /// The most held (any state) by one source address: what runs out first.
    public var maxPerLocalAddress: Int
    public var portRange: PortRange
    /// The range less `ip_local_reserved_ports`, when the namespace's were read.
    public var usablePorts: Int?

    public init(
        remote: IPAddress, remotePort: UInt16, timeWait: Int, open: Int = 0, localAddresses: Int, maxPerLocalAddress: Int,
        portRange: PortRange, usablePorts: Int? = nil
    ) {
        self.remote = remote
        self.remotePort = remotePort
        self.timeWait = timeWait
        self.open = open
        self.localAddresses = localAddresses
        self.maxPerLocalAddress = maxPerLocalAddress
        self.portRange = portRange
        self.usablePorts = usablePorts
    }

    var usable: Int { usablePorts ?? portRange.size }

    /// maxPerLocalAddress / usable ports (the range's size when unknown), in percent.
    public var usePercent: Double { Self.percent(maxPerLocalAddress, of: usable) }

    /// The share TIME_WAIT can hold at most from one source address (what tcp_tw_reuse can free).
    public var timeWaitUsePercent: Double { Self.percent(min(timeWait, maxPerLocalAddress), of: usable) }

    static func percent(_ n: Int, of usable: Int) -> Double { usable == 0 ? 100 : Double(n) * 100 / Double(usable) }
}
