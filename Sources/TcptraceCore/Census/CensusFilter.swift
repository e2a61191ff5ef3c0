/// Which sockets a census counts: the same rules as the tracer's `-4`/`-6`/`--port`.
public struct CensusFilter: Hashable, Sendable {
    public var family: AddressFamily?
    /// Either side; empty: all.
    public var ports: [UInt16] = []
    public init(family: AddressFamily? = nil, ports: [UInt16] = []) {
        self.family = family
        self.ports = ports
    }
    public func matches(_ s: SocketSnapshot) -> Bool {
        if let family, s.family != family { return false }
        if !ports.isEmpty && !ports.contains(s.localPort) && !ports.contains(s.remotePort) { return false }
        return true
    }
}
