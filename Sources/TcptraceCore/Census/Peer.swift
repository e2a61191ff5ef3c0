/// Who sits on the other side of a group of sockets. A local port that some socket listens on,
/// or one outside the ephemeral range, means the peer connected to our service `localPort` (its
/// own ephemeral port is left out so its sockets group). Otherwise we connected out, and the
/// peer's service is `remotePort`.
public struct Peer: Hashable, Sendable {
    public var remote: IPAddress
    /// Outbound: the remote service port; inbound: nil.
    public var remotePort: UInt16?
    /// Inbound: our service port; outbound: nil.
    public var localPort: UInt16?
    public init(remote: IPAddress, remotePort: UInt16?, localPort: UInt16?) {
        self.remote = remote
        self.remotePort = remotePort
        self.localPort = localPort
    }
}
