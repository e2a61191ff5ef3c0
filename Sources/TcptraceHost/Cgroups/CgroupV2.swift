import Glibc
import TcptraceCore

/// The cgroup v2 hierarchy as files: where it is mounted (found in /proc/self/mountinfo, never
/// assumed: `/sys/fs/cgroup` on unified hosts, `/sys/fs/cgroup/unified` on hybrid ones) and
/// which cgroup a directory is.
public enum CgroupV2 {
    /// A cgroup2 mount: where it is and which directory of the hierarchy it shows (`/` unless
    /// mounted from a subdirectory).
    public struct Mount: Hashable, Sendable {
        public var mountPoint: String
        public var root: String
    }

    /// The cgroup2 mount in /proc/self/mountinfo, or nil when there is none.
    public static func mount(mountinfo path: String = "/proc/self/mountinfo") -> Mount? {
        Sysctl.readFile(path, limit: 16 << 20).flatMap(mount(inMountinfo:))
    }

    /// The cgroup2 mount in mountinfo text (proc(5): `ID PARENT MAJ:MIN ROOT MOUNTPOINT
    /// OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTIONS`, paths with octal escapes). A mount of
    /// the whole hierarchy (root `/`) is preferred over one of a sub-tree; among equals, the first.
    public static func mount(inMountinfo text: String) -> Mount? {
        var subtree: Mount?
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: false)
            guard f.count >= 7, let dash = f.dropFirst(6).firstIndex(of: "-"), dash + 1 < f.count, f[dash + 1] == "cgroup2"
            else { continue }
            let m = Mount(mountPoint: unescape(f[4]), root: unescape(f[3]))
            if m.root == "/" { return m }
            if subtree == nil { subtree = m }
        }
        return subtree
    }

    /// The subtree of the cgroup whose directory is `path` (under the cgroup2 mount): its id is
    /// the directory's inode, its level the directories between it and the hierarchy's root.
    /// Levels count from the root this host sees: inside a cgroup namespace (a container), the
    /// kernel's levels are deeper than the paths show, and the filter would match nothing.
    public static func subtree(path: String, mountinfo: String = "/proc/self/mountinfo") throws(SystemError) -> CgroupSubtree {
        guard let m = mount(mountinfo: mountinfo) else {
            throw .call("finding the cgroup2 mount in \(mountinfo) (no cgroup v2 hierarchy is mounted)", errno: ENOENT)
        }
        guard let resolved = realpath(path, nil) else { throw .call("cgroup directory \(path)", errno: errno) }
        let full = String(cString: resolved)
        free(resolved)
        guard let below = components(of: full, below: m.mountPoint) else {
            throw .call("\(path) as a cgroup v2 directory (not below the cgroup2 mount \(m.mountPoint))", errno: EINVAL)
        }
        // Every cgroup directory has cgroup.procs; a plain file or a non-cgroup directory does not.
        guard access(full + "/cgroup.procs", F_OK) == 0 else {
            throw .call("\(path) as a cgroup v2 directory (no cgroup.procs)", errno: ENOTDIR)
        }
        var st = stat()
        guard stat(full, &st) == 0 else { throw .call("stat \(path)", errno: errno) }
        let rootLevel = m.root.split(separator: "/").count
        return CgroupSubtree(id: UInt64(st.st_ino), level: UInt32(rootLevel + below.count))
    }

    /// The components of `path` after those of `base`; nil when `path` is not `base` or below it.
    static func components(of path: String, below base: String) -> [Substring]? {
        let parts = path.split(separator: "/"), baseParts = base.split(separator: "/")
        guard parts.starts(with: baseParts) else { return nil }
        return Array(parts.dropFirst(baseParts.count))
    }

    /// mountinfo's octal escapes (`\040` is a space) undone.
    static func unescape(_ s: Substring) -> String {
        let u = Array(s.utf8)
        let zero = UInt8(ascii: "0"), seven = UInt8(ascii: "7")
        var out: [UInt8] = []
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "\\"), i + 3 < u.count, u[(i + 1)...(i + 3)].allSatisfy({ $0 >= zero && $0 <= seven }) {
                out.append((u[i + 1] - zero) &* 64 &+ (u[i + 2] - zero) &* 8 &+ (u[i + 3] - zero))
                i += 4
            } else {
                out.append(u[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension CgroupV2 {
    /// The cgroup directory of the container whose id starts with `prefix` (at least 4
    /// characters), by walking the cgroup2 tree (at most 100,000 directories). Nested cgroups of
    /// one container (e.g. podman's `…/container`) count once: the shallowest is returned.
    public static func container(idPrefix prefix: String) throws(SystemError) -> String {
        guard let m = mount() else { throw .call("finding the cgroup2 mount (no cgroup v2 hierarchy is mounted)", errno: ENOENT) }
        var found: [String: String] = [:]  // id -> shallowest path
        var stack = [""]
        var walked = 0
        while let rel = stack.popLast(), walked < 100_000 {
            walked += 1
            let full = m.mountPoint + rel
            guard let dir = opendir(full) else { continue }
            while let ent = readdir(dir) {
                guard ent.pointee.d_type == UInt8(DT_DIR) else { continue }
                let name = withUnsafeBytes(of: ent.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                let child = rel + "/" + name
                let info = ContainerInfo.parse(cgroupPath: m.root == "/" ? child : m.root + child)
                if let id = info.id, info.runtime != "systemd", id.hasPrefix(prefix) {
                    if let known = found[id], known.count <= child.count {} else { found[id] = child }
                }
                stack.append(child)
            }
            closedir(dir)
        }
        guard let (id, path) = found.first else {
            throw .notFound("--container \(prefix): no container with that id in the cgroup2 tree at \(m.mountPoint)")
        }
        guard found.count == 1 else {
            throw .notFound("--container \(prefix): ambiguous, it starts \(found.count) container ids (\(found.keys.sorted().prefix(3).joined(separator: ", ")))")
        }
        _ = id
        return m.mountPoint + path
    }
}

extension CgroupV2 {
    /// The cgroup v2 of process `pid` (its `0::` line in /proc/PID/cgroup): its id and the ids of
    /// every cgroup above it (the directories' inodes), or nil.
    public static func cgroup(ofProcess pid: UInt32, procRoot: String = "/proc") -> (id: UInt64, ancestors: [UInt64])? {
        guard let m = mount(), let text = Sysctl.readFile("\(procRoot)/\(pid)/cgroup", limit: 64 << 10),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("0::") })
        else { return nil }
        var parts = line.dropFirst(3).split(separator: "/").map(String.init)
        // The path is relative to the hierarchy's root; the mount may show a subtree of it.
        let rootParts = m.root.split(separator: "/").map(String.init)
        guard parts.starts(with: rootParts) else { return nil }
        parts.removeFirst(rootParts.count)
        var ids: [UInt64] = []
        var path = m.mountPoint
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        ids.append(UInt64(st.st_ino))
        for p in parts {
            path += "/" + p
            guard stat(path, &st) == 0 else { return nil }
            ids.append(UInt64(st.st_ino))
        }
        return (ids.removeLast(), ids)
    }
}
