import Glibc
import TcptraceCore

/// Cgroup v2 ids (what the kernel program reads from a socket's `sk_cgrp_data`) to the
/// container they belong to. A cgroup's id is the inode number of its directory in the cgroup2
/// file system, so an id becomes a path by walking that tree, and a path a `ContainerInfo` by
/// `ContainerInfo.parse`.
///
/// Per event this is one dictionary lookup. A miss walks the tree, but at most once per
/// `walkInterval`: ids missed in between stay unresolved (nil) until the next allowed walk,
/// which looks for all of them at once. Ids a walk does not find (the cgroup is gone, or
/// outside this mount's view) are remembered as unresolvable; cgroup ids are never reused
/// within a boot. The cache holds at most `capacity` ids, evicting by CLOCK (second chance).
///
/// Not thread-safe: one owner (the poll loop).
public final class CgroupResolver {
    public struct Statistics: Equatable, Sendable {
        public var hits: UInt64 = 0
        /// Lookups of an id not in the cache (each either walked or waited for the next walk).
        public var misses: UInt64 = 0
        public var walks: UInt64 = 0
        /// Directories visited by all walks.
        public var directoriesWalked: UInt64 = 0
        /// Cached ids dropped to make room.
        public var evictions: UInt64 = 0
        /// Misses not walked for (the rate limit); their ids wait for the next walk.
        public var deferred: UInt64 = 0
        /// Ids cached, resolved or not.
        public var cached: Int = 0
    }

    /// The cgroup2 mount point the walks start from.
    public let mount: String
    /// The kubelet's pod log directory (`<namespace>_<name>_<uid>` entries), or nil for none.
    public let podLogDirectory: String?
    public let capacity: Int
    public let walkInterval: UInt64
    public private(set) var statistics = Statistics()

    private struct Slot {
        var id: UInt64
        var info: ContainerInfo?
        var referenced: Bool
    }
    private var slots: [Slot] = []
    private var index: [UInt64: Int] = [:]
    private var hand = 0
    /// Ids missed since the last walk, looked for by the next one (at most `capacity`).
    private var pending: Set<UInt64> = []
    private var lastWalk: UInt64?
    /// Pod uid → namespace and name, re-read at every walk.
    private var pods: [String: (namespace: String, name: String)] = [:]

    /// Deeper trees than this are not walked (each level holds a descriptor).
    static let maxDepth = 64

    public init(
        mount: String, podLogDirectory: String? = "/var/log/pods", capacity: Int = 4_096,
        walkInterval: UInt64 = 1_000_000_000
    ) {
        precondition(capacity > 0)
        self.mount = mount
        self.podLogDirectory = podLogDirectory
        self.capacity = capacity
        self.walkInterval = walkInterval
        slots.reserveCapacity(capacity)
    }

    /// A resolver over this host's cgroup2 mount; nil when there is none.
    public convenience init?(podLogDirectory: String? = "/var/log/pods") {
        guard let mount = Self.cgroup2Mount() else { return nil }
        self.init(mount: mount, podLogDirectory: podLogDirectory)
    }

    /// The container of the cgroup with this id; nil when it is not (yet) known. `now` is a
    /// monotonic time in nanoseconds (any clock that only goes forward; tests pass their own).
    /// `force`: walk now even within the interval (for rare records, e.g. lingerers).
    public func container(cgroupID id: UInt64, now: UInt64, force: Bool = false) -> ContainerInfo? {
        if let i = index[id] {
            slots[i].referenced = true
            statistics.hits &+= 1
            return slots[i].info
        }
        statistics.misses &+= 1
        if !force, let last = lastWalk, now < last &+ walkInterval {
            statistics.deferred &+= 1
            if pending.count < capacity { pending.insert(id) }
            return nil
        }
        lastWalk = now
        pending.remove(id)
        let info = resolve(id, pending)
        pending.removeAll(keepingCapacity: true)
        return info
    }

    /// The id of the cgroup at `path`, relative to the mount (as `ContainerInfo.path` and the
    /// `0::` line of /proc/PID/cgroup show it): its directory's inode number. Nil when it does
    /// not exist.
    public func cgroupID(ofPath path: String) -> UInt64? {
        let full = path.hasPrefix("/") ? mount + path : mount + "/" + path
        var st = stat()
        guard stat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return nil }
        return UInt64(st.st_ino)
    }

    // MARK: - Finding the mount

    /// Where the cgroup2 file system is mounted (`CgroupV2.mount`); nil when it is not.
    public static func cgroup2Mount() -> String? { CgroupV2.mount()?.mountPoint }

    // MARK: - Walking

    /// One walk for `id` and the ids that waited for it; caches them all (`id` last, so that
    /// it is not evicted by the others) and returns what `id` resolved to.
    private func resolve(_ id: UInt64, _ waiting: Set<UInt64>) -> ContainerInfo? {
        statistics.walks &+= 1
        readPods()
        var remaining = waiting
        remaining.insert(id)
        var found: [UInt64: String] = [:]
        if let root = try? FileDescriptor.open(mount, O_RDONLY | O_DIRECTORY) {
            visit(root, path: "", depth: 0, remaining: &remaining, found: &found)
        }
        func info(_ id: UInt64) -> ContainerInfo? {
            found[id].map { withPod(ContainerInfo.parse(cgroupPath: $0.isEmpty ? "/" : $0)) }
        }
        for other in waiting { insert(other, info(other)) }
        let result = info(id)
        insert(id, result)
        // Pods whose log directory appeared after their containers were cached.
        for i in slots.indices {
            if let info = slots[i].info, info.podUID != nil, info.podName == nil {
                slots[i].info = withPod(info)
            }
        }
        statistics.cached = slots.count
        return result
    }

    /// Records `dir`'s id if wanted, then visits its sub-directories. `dir` is consumed (closed
    /// on return). Directories that vanish mid-walk are skipped.
    private func visit(
        _ dir: consuming FileDescriptor, path: String, depth: Int, remaining: inout Set<UInt64>, found: inout [UInt64: String]
    ) {
        statistics.directoriesWalked &+= 1
        var st = stat()
        guard fstat(dir.raw, &st) == 0 else { return }
        if remaining.remove(UInt64(st.st_ino)) != nil { found[UInt64(st.st_ino)] = path }
        if remaining.isEmpty || depth >= Self.maxDepth { return }

        let raw = dir.release()
        guard let stream = fdopendir(raw) else {
            close(raw)
            return
        }
        defer { closedir(stream) }
        let fd = dirfd(stream)
        var children: [String] = []
        while let ent = readdir(stream) {
            let type = ent.pointee.d_type
            guard type == UInt8(DT_DIR) || type == UInt8(DT_UNKNOWN) else { continue }
            let name = withUnsafeBytes(of: ent.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name == "." || name == ".." { continue }
            children.append(name)
        }
        for name in children {
            let child = retryingOnInterrupt { openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            guard child >= 0 else { continue }  // gone since readdir, or not a directory
            visit(FileDescriptor(adopting: child), path: path + "/" + name, depth: depth + 1, remaining: &remaining, found: &found)
            if remaining.isEmpty { return }
        }
    }

    private func readPods() {
        pods.removeAll(keepingCapacity: true)
        guard let podLogDirectory, let dir = opendir(podLogDirectory) else { return }
        defer { closedir(dir) }
        while let ent = readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if let pod = ContainerInfo.podLogDirectory(name) { pods[pod.uid] = (pod.namespace, pod.name) }
        }
    }

    private func withPod(_ info: ContainerInfo) -> ContainerInfo {
        guard let uid = info.podUID, let pod = pods[uid] else { return info }
        var info = info
        info.podNamespace = pod.namespace
        info.podName = pod.name
        return info
    }

    // MARK: - The cache (CLOCK)

    private func insert(_ id: UInt64, _ info: ContainerInfo?) {
        if let i = index[id] {
            slots[i].info = info
            return
        }
        if slots.count < capacity {
            index[id] = slots.count
            slots.append(Slot(id: id, info: info, referenced: false))
            return
        }
        // Second chance: clear reference bits until an unreferenced slot comes round.
        while slots[hand].referenced {
            slots[hand].referenced = false
            hand = (hand + 1) % capacity
        }
        index[slots[hand].id] = nil
        slots[hand] = Slot(id: id, info: info, referenced: false)
        index[id] = hand
        hand = (hand + 1) % capacity
        statistics.evictions &+= 1
    }
}
