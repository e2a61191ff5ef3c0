/// A cgroup v2 subtree: the cgroup with id `id` and every cgroup below it. The kernel program
/// tells membership from the socket's cgroup's ancestor at `level` (cgroups keep their ancestors
/// by level), so both are needed.
public struct CgroupSubtree: Hashable, Sendable {
    /// The cgroup v2 id: the inode of the cgroup's directory (`stat -c %i`).
    public var id: UInt64
    /// Its depth: the root cgroup is 0, a directory right below the cgroup2 mount's root 1.
    public var level: UInt32

    public init(id: UInt64, level: UInt32) {
        self.id = id
        self.level = level
    }
}
