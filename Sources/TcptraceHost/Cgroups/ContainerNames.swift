import TcptraceCore

/// The container of each cgroup id a record names, for the records' `container` field: one
/// `ContainerHandle` per cgroup, looked up in memory per record (the last one first: events
/// come in runs of one socket, one container). Unknown ids go to the `CgroupResolver`, which
/// walks the cgroup2 tree at most once a second.
public final class ContainerNames {
    let resolver: CgroupResolver?
    private var refs: [UInt64: ContainerHandle?] = [:]
    private var lastID: UInt64 = .max
    private var last: ContainerHandle?
    /// Bound on remembered cgroups (the resolver keeps its own, also bounded).
    public static let capacity = 4096

    public init(resolver: CgroupResolver? = CgroupResolver()) { self.resolver = resolver }

    /// The container of cgroup `id`; nil for the root cgroup, or while it is not resolved.
    /// `now`: any nanosecond clock that goes forward (the record's time will do).
    @inline(__always)
    public func container(cgroup id: UInt64, now: UInt64, force: Bool = false) -> ContainerHandle? {
        if id == lastID { return last }
        let ref: ContainerHandle?
        if let known = refs[id] {
            ref = known
        } else {
            guard let info = resolver?.container(cgroupID: id, now: now, force: force) else { return nil }  // asked again later
            ref = info.path == "/" ? nil : ContainerRegistry.shared.intern(info)
            if refs.count >= Self.capacity { refs.removeAll(keepingCapacity: true) }
            refs[id] = ref
        }
        lastID = id
        last = ref
        return ref
    }

    /// Sets `identity.container` from its cgroup. `force` for rare records that must not wait
    /// for the next allowed walk (lingerers).
    @inline(__always)
    public func name(_ identity: inout SocketIdentity, now: WallTime, force: Bool = false) {
        if let id = identity.cgroup {
            identity.container = container(cgroup: id, now: UInt64(max(0, now.nanoseconds)), force: force)
        }
    }
}
