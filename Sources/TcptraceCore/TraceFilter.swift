/// What the user asked to see. Different filters combine with AND; the values within one
/// list with OR. The kernel program applies the same rules (bpf/tcptrace.bpf.c).
public struct TraceFilter: Hashable, Sendable {
    public static let maxPortsPerList = 8

    public var family: AddressFamily?
    /// Either side.
    public var ports: [UInt16] = []
    public var localPorts: [UInt16] = []
    public var remotePorts: [UInt16] = []
    /// The socket's owner (the process that connected or listened), not the task in context.
    public var ownerPID: UInt32?
    public var ownerComm: String?

    public init() {}

    public var isEmpty: Bool { self == TraceFilter() }

    /// The rule, applied to one transition. Owner filters need a known owner.
    public func matches(_ t: Transition) -> Bool {
        matches(family: t.family, localPort: t.identity.localPort, remotePort: t.identity.remotePort, owner: t.owner)
    }

    public func matches(family f: AddressFamily, localPort: UInt16, remotePort: UInt16, owner: Owner?) -> Bool {
        if let family, f != family { return false }
        if !ports.isEmpty && !ports.contains(localPort) && !ports.contains(remotePort) { return false }
        if !localPorts.isEmpty && !localPorts.contains(localPort) { return false }
        if !remotePorts.isEmpty && !remotePorts.contains(remotePort) { return false }
        if let ownerPID, owner?.pid != ownerPID { return false }
        if let ownerComm, owner?.comm != CommName(ownerComm) { return false }
        return true
    }
}
