import Foundation
import Glibc
import Testing
import TcptraceCore
@testable import TcptraceHost

/// CgroupResolver: finding the cgroup2 mount, the cache and its rate-limited walks (over a
/// directory tree of our own, no root needed: a walk only reads directories and their inode
/// numbers), and the real cgroup2 file system (root: skipped saying so otherwise).
@Suite(.serialized) struct CgroupResolverTests {
    static let second: UInt64 = 1_000_000_000
    static let containerdID = "2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36"

    static func randomID() -> String { String((0..<64).map { _ in "0123456789abcdef".randomElement()! }) }

    /// A temporary directory tree; `removeAll` removes it, deepest first.
    final class Tree {
        let root: String
        private var made: [String] = []

        init(under parent: String = NSTemporaryDirectory(), name: String = "tcptrace-cgroup-\(getpid())-\(UInt32.random(in: 0...UInt32.max))") throws {
            root = (parent.hasSuffix("/") ? parent : parent + "/") + name
            try #require(mkdir(root, 0o755) == 0, "mkdir \(root): \(String(cString: strerror(errno)))")
            made.append(root)
        }

        /// Makes `relative` (`/a/b/c`) and any missing parents; returns the full path.
        @discardableResult
        func make(_ relative: String) throws -> String {
            var path = root
            for c in relative.split(separator: "/") {
                path += "/" + c
                if access(path, F_OK) == 0 { continue }
                try #require(mkdir(path, 0o755) == 0, "mkdir \(path): \(String(cString: strerror(errno)))")
                made.append(path)
            }
            return path
        }

        static func inode(_ path: String) -> UInt64? {
            var st = stat()
            return stat(path, &st) == 0 ? UInt64(st.st_ino) : nil
        }

        /// Called from a `defer` right after `init` (not from deinit: a value may be released
        /// after its last use, before the test is done with the directories).
        func removeAll() {
            for path in made.reversed() where rmdir(path) != 0 && errno != ENOENT {
                Issue.record("could not remove \(path): \(String(cString: strerror(errno)))")
            }
            made.removeAll()
        }
    }

    // MARK: - The mount

    @Test func cgroup2MountFromMountinfo() {
        // A hybrid host (this one): v1 controllers, and cgroup2 at /sys/fs/cgroup/unified.
        let hybrid = """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """
        #expect(CgroupV2.mount(inMountinfo: hybrid)?.mountPoint == "/sys/fs/cgroup/unified")
        // A unified host, with optional fields before the separator.
        let unified = """
            24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
            27 24 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
            """
        #expect(CgroupV2.mount(inMountinfo: unified)?.mountPoint == "/sys/fs/cgroup")
        // A sub-tree bind mount comes second to the whole hierarchy; escaped spaces are undone.
        let mixed = """
            50 27 0:24 /system.slice/x.service /srv/cg rw - cgroup2 cgroup2 rw
            51 27 0:24 / /mnt/my\\040cgroup rw - cgroup2 none rw
            """
        #expect(CgroupV2.mount(inMountinfo: mixed)?.mountPoint == "/mnt/my cgroup")
        #expect(CgroupV2.mount(inMountinfo: "50 27 0:24 /kubepods /srv/cg rw - cgroup2 cgroup2 rw")?.mountPoint == "/srv/cg")
        // cgroup v1 only.
        #expect(CgroupV2.mount(inMountinfo: "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu")?.mountPoint == nil)
        // A file system whose source is called cgroup2 is not one.
        #expect(CgroupV2.mount(inMountinfo: "60 1 0:50 / /mnt rw - tmpfs cgroup2 rw")?.mountPoint == nil)
    }

    @Test func thisHostsMountIsWhereMountinfoSaysNotAGuess() throws {
        let found = CgroupResolver.cgroup2Mount()
        try Requirement.that(found != nil, "this host has no cgroup2 mount in /proc/self/mountinfo")
        let mount = found!
        #expect(try Self.statTool(["-f", "-c", "%T", mount]) == "cgroup2fs", "\(mount)")
    }

    /// What stat(1) prints.
    static func statTool(_ args: [String]) throws -> String {
        try command(["/usr/bin/stat"] + args).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: - Cache and walks (a tree of our own)

    @Test func resolvesPathsAndRateLimitsWalks() throws {
        let tree = try Tree()
        defer { tree.removeAll() }
        let docker = Self.randomID()
        let scope = try tree.make("/system.slice/docker-\(docker).scope")
        let service = try tree.make("/system.slice/nginx.service")
        let r = CgroupResolver(mount: tree.root, podLogDirectory: nil)
        #expect(r.cgroupID(ofPath: "/system.slice/docker-\(docker).scope") == Tree.inode(scope))
        #expect(r.cgroupID(ofPath: "/nope") == nil)

        let t0: UInt64 = 50 * Self.second
        // The first miss walks.
        #expect(r.container(cgroupID: Tree.inode(scope)!, now: t0) == ContainerInfo(path: "/system.slice/docker-\(docker).scope", runtime: "docker", id: docker))
        #expect(r.statistics.walks == 1)
        // The root of the mount is `/`.
        let rootID = r.cgroupID(ofPath: "/")!
        // A miss within the interval waits; so does the next one.
        #expect(r.container(cgroupID: Tree.inode(service)!, now: t0 + Self.second / 2) == nil)
        #expect(r.container(cgroupID: rootID, now: t0 + Self.second - 1) == nil)
        #expect(r.statistics.walks == 1 && r.statistics.deferred == 2)
        // Once the interval has passed, one walk resolves the miss and everything that waited.
        let late = try tree.make("/user.slice/user-1000.slice/session-3.scope")
        #expect(r.container(cgroupID: Tree.inode(late)!, now: t0 + Self.second)?.id == "session-3.scope")
        #expect(r.statistics.walks == 2)
        #expect(r.container(cgroupID: Tree.inode(service)!, now: t0 + Self.second)?.id == "nginx.service")
        #expect(r.container(cgroupID: rootID, now: t0 + Self.second) == ContainerInfo(path: "/"))
        #expect(r.statistics.walks == 2 && r.statistics.hits == 2 && r.statistics.misses == 4)
    }

    @Test func idsNoWalkFindsAreRememberedAsUnresolvable() throws {
        let tree = try Tree()
        defer { tree.removeAll() }
        let r = CgroupResolver(mount: tree.root, podLogDirectory: nil)
        let gone = UInt64.max - 7
        #expect(r.container(cgroupID: gone, now: 0) == nil)
        #expect(r.statistics.walks == 1)
        for k in 1...5 { #expect(r.container(cgroupID: gone, now: UInt64(k) * 10 * Self.second) == nil) }
        #expect(r.statistics.walks == 1 && r.statistics.hits == 5)
    }

    @Test func cacheIsBoundedAndEvictsByClock() throws {
        let tree = try Tree()
        defer { tree.removeAll() }
        var ids: [UInt64] = []
        for name in ["a.service", "b.service", "c.service"] {
            ids.append(Tree.inode(try tree.make("/system.slice/\(name)"))!)
        }
        let r = CgroupResolver(mount: tree.root, podLogDirectory: nil, capacity: 2)
        var now: UInt64 = 0
        func look(_ id: UInt64) -> ContainerInfo? {
            now += 2 * Self.second
            return r.container(cgroupID: id, now: now)
        }
        #expect(look(ids[0])?.id == "a.service")
        #expect(look(ids[1])?.id == "b.service")
        #expect(look(ids[0])?.id == "a.service")  // a hit: a gets a second chance
        #expect(r.statistics.evictions == 0)
        #expect(look(ids[2])?.id == "c.service")  // full: b goes, not a
        #expect(r.statistics.evictions == 1 && r.statistics.cached == 2)
        let walks = r.statistics.walks
        #expect(look(ids[0])?.id == "a.service")
        #expect(r.statistics.walks == walks)
        #expect(look(ids[1])?.id == "b.service")
        #expect(r.statistics.walks == walks + 1 && r.statistics.evictions == 2)
    }

    @Test func podNamesFromTheKubeletsLogDirectories() throws {
        let tree = try Tree()
        defer { tree.removeAll() }
        let uid = "55c6c714-b240-4dec-9a45-57b61696ab6e"
        let pod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uid.replacingOccurrences(of: "-", with: "_")).slice"
        let container = try tree.make(pod + "/cri-containerd-\(Self.containerdID).scope")
        let other = try tree.make("/kubepods/besteffort/pod2ca4a155-3599-498d-bb9d-4446693fa3ea/\(Self.randomID())")
        let logs = try tree.make("/logs")
        try tree.make("/logs/kube-system_coredns-5d78c9869d-x7k2p_2ca4a155-3599-498d-bb9d-4446693fa3ea")
        try tree.make("/logs/not-a-pod-directory")
        let r = CgroupResolver(mount: tree.root, podLogDirectory: logs)

        // The pod's log directory does not exist yet: uid only.
        let before = r.container(cgroupID: Tree.inode(container)!, now: 0)
        #expect(before?.runtime == "containerd" && before?.id == Self.containerdID && before?.podUID == uid && before?.podName == nil)
        // It appears; the next walk (for another id) fills in the cached entry too.
        try tree.make("/logs/default_web-0_\(uid)")
        let o = r.container(cgroupID: Tree.inode(other)!, now: Self.second)
        #expect(o?.podNamespace == "kube-system" && o?.podName == "coredns-5d78c9869d-x7k2p" && o?.shortName == "coredns-5d78c9869d-x7k2p")
        let after = r.container(cgroupID: Tree.inode(container)!, now: Self.second)
        #expect(after?.podNamespace == "default" && after?.podName == "web-0" && after?.path == pod + "/cri-containerd-\(Self.containerdID).scope")
        #expect(r.statistics.walks == 2)
    }

    @Test func aMountThatIsGoneResolvesNothing() {
        let r = CgroupResolver(mount: "/nonexistent-tcptrace-\(getpid())", podLogDirectory: "/nonexistent-too")
        #expect(r.container(cgroupID: 1, now: 0) == nil)
        #expect(r.statistics.walks == 1)
        #expect(r.cgroupID(ofPath: "/") == nil)
    }

    // MARK: - The real cgroup2 file system

    @Test func realCgroupResolvesToItsContainer() throws {
        try Requirement.root("the test makes cgroups")
        let mount = try #require(CgroupResolver.cgroup2Mount(), "no cgroup2 mount in /proc/self/mountinfo")
        let docker = Self.randomID()
        let tree = try Tree(under: mount, name: "tcptrace-test-\(getpid())")
        defer { tree.removeAll() }
        let scope = try tree.make("/docker-\(docker).scope")
        let relative = "/tcptrace-test-\(getpid())/docker-\(docker).scope"

        let r = CgroupResolver(mount: mount, podLogDirectory: nil)
        let id = try #require(r.cgroupID(ofPath: relative))
        // The id is the directory's inode, as stat(1) prints it (and bpf_get_current_cgroup_id,
        // and the kernel's sk_cgrp_data cgroup id).
        #expect(UInt64(try Self.statTool(["-c", "%i", scope])) == id)

        // A walk for an id that exists nowhere, then our cgroup within the interval: not yet.
        let t0: UInt64 = 1_000 * Self.second
        #expect(r.container(cgroupID: UInt64.max - 1, now: t0) == nil)
        #expect(r.container(cgroupID: id, now: t0 + Self.second / 2) == nil)
        #expect(r.statistics.walks == 1)
        // After it, the walk finds it.
        #expect(r.container(cgroupID: id, now: t0 + Self.second) == ContainerInfo(path: relative, runtime: "docker", id: docker))
        #expect(r.statistics.walks == 2)
        #expect(r.container(cgroupID: id, now: t0 + Self.second)?.shortName == String(docker.prefix(12)))

        // This process's own cgroup (the `0::` line) resolves to its path.
        let own = try #require(
            Sysctl.readFile("/proc/self/cgroup")?.split(separator: "\n").first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) })
        let ownID = try #require(r.cgroupID(ofPath: own))
        #expect(r.container(cgroupID: ownID, now: t0 + 2 * Self.second)?.path == ContainerInfo.parse(cgroupPath: own).path)
    }
}
