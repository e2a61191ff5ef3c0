/// Outbound TIME_WAIT towards one destination (remote address, remote port): local port in the
/// ephemeral range and not a listening port. Each such socket
/// holds one local port for 60 s (TCP_TIMEWAIT_LEN); a connect() from the same source address
/// to the same destination needs a port not held: at `portRange.size` per source address,
/// connect() fails with EADDRNOTAVAIL (unless tcp_tw_reuse lets it take a TIME_WAIT port).
public struct PortExhaustion: Hashable, Sendable {
    public var remote: IPAddress
    public var remotePort: UInt16
    /// TIME_WAIT sockets to this destination whose local port is in the ephemeral range.
    public var timeWait: Int
    /// Distinct local (source) addresses among them.
    public var localAddresses: Int
    /// The most held by one source address: what runs out first.
    public var maxPerLocalAddress: Int
    public var portRange: PortRange
    /// The range less `ip_local_reserved_ports`, when the namespace's were read.
    public var usablePorts: Int?
    /// maxPerLocalAddress / usable ports (the range's size when unknown), in percent.
    public var usePercent: Double {
        let usable = usablePorts ?? portRange.size
        return usable == 0 ? 100 : Double(maxPerLocalAddress) * 100 / Double(usable)
    }
}
