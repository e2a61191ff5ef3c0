/// What the user asked to see. Different filters combine with AND; the values within one
/// list with OR. The kernel program applies the same rules (bpf/tcptrace.bpf.c).
public struct TraceFilter: Hashable, Sendable {
    /// `TCPTRACE_MAX_PORTS` in bpf/tcptrace.h (the core imports no C; ABIFactsTests ties them).
    public static let maxPortsPerList = 8
    /// `TCPTRACE_COMM_LEN` - 1: the kernel keeps 15 bytes of a command name (ABIFactsTests).
    public static let maxCommBytes = 15

    public var family: AddressFamily?
    /// Either side.
    public var ports: [UInt16] = []
    public var localPorts: [UInt16] = []
    public var remotePorts: [UInt16] = []
    /// The socket's owner (the process that connected or listened), not the task in context.
    public var ownerPID: UInt32?
    public var ownerComm: String?
    /// Only sockets in this network namespace: its inode, as `stat -L -c %i /proc/PID/ns/net`
    /// (or `/run/netns/NAME`) prints it. A socket whose namespace is unknown does not pass.
    public var netns: UInt32?
    /// Only sockets whose cgroup v2 is this cgroup or one below it (a container's, or a whole
    /// slice). A socket's cgroup is its creator's (an accepted socket: its listener's), never
    /// the task in context. A socket whose cgroup is unknown does not pass.
    /// `CgroupSubtree(id:level:)`; `CgroupV2.subtree(path:)` (TcptraceHost) makes one from a
    /// cgroup directory.
    public var cgroupSubtree: CgroupSubtree?

    public init() {}

    public var isEmpty: Bool { self == TraceFilter() }

    /// Whether it filters on ports (any of the three lists).
    public var hasPortLists: Bool { !ports.isEmpty || !localPorts.isEmpty || !remotePorts.isEmpty }

    /// Whether only its port lists narrow it: what a perf filter on the tracepoint's own fields
    /// can say too (the skip count is then of the run's own hits).
    public var onlyPorts: Bool {
        var rest = self
        rest.ports = []
        rest.localPorts = []
        rest.remotePorts = []
        return rest.isEmpty
    }

    /// The rule, applied to one transition. Owner filters need a known owner, the namespace and
    /// cgroup filters a known netns and cgroup. A record names only the socket's own cgroup, not
    /// its ancestors: `cgroupIsBelow` says whether a cgroup id lies below `cgroupSubtree` (e.g.
    /// from its path); by default only the subtree's own cgroup is in it.
    public func matches(_ t: Transition, cgroupIsBelow: (UInt64) -> Bool = { _ in false }) -> Bool {
        matches(
            family: t.family, localPort: t.identity.localPort, remotePort: t.identity.remotePort, owner: t.owner,
            netns: t.identity.netns, cgroup: t.identity.cgroup, cgroupIsBelow: cgroupIsBelow)
    }

    public func matches(
        family f: AddressFamily, localPort: UInt16, remotePort: UInt16, owner: Owner?, netns socketNetns: UInt32? = nil,
        cgroup socketCgroup: UInt64? = nil, cgroupIsBelow: (UInt64) -> Bool = { _ in false }
    ) -> Bool {
        if let family, f != family { return false }
        if !ports.isEmpty && !ports.contains(localPort) && !ports.contains(remotePort) { return false }
        if !localPorts.isEmpty && !localPorts.contains(localPort) { return false }
        if !remotePorts.isEmpty && !remotePorts.contains(remotePort) { return false }
        if let ownerPID, owner?.pid != ownerPID { return false }
        if let ownerComm, owner?.comm != CommName(ownerComm) { return false }
        if let netns, socketNetns != netns { return false }
        if let cgroupSubtree {
            guard let c = socketCgroup, c == cgroupSubtree.id || cgroupIsBelow(c) else { return false }
        }
        return true
    }
}
