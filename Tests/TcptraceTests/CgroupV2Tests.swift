import Glibc
import Testing
import TcptraceCore
@testable import TcptraceHost

/// Finding the cgroup2 mount and a directory's cgroup id and level, without root.
@Suite struct CgroupV2Tests {
    /// Debian 11 hybrid layout: v1 controllers under a tmpfs, cgroup2 at …/unified.
    let hybrid = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """

    @Test func findsTheCgroup2MountWhereverItIs() {
        #expect(CgroupV2.mount(inMountinfo: hybrid) == .init(mountPoint: "/sys/fs/cgroup/unified", root: "/"))
        // Unified layout, optional fields before the separator.
        let unified = "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
        #expect(CgroupV2.mount(inMountinfo: unified) == .init(mountPoint: "/sys/fs/cgroup", root: "/"))
        // Escaped paths; a mount of a subdirectory of the hierarchy.
        let escaped = #"50 24 0:30 /kube\040pods /mnt/my\040cgroups rw - cgroup2 none rw"#
        #expect(CgroupV2.mount(inMountinfo: escaped) == .init(mountPoint: "/mnt/my cgroups", root: "/kube pods"))
        // A v1 "cgroup" mount, or a path that merely says cgroup2, is not one.
        #expect(CgroupV2.mount(inMountinfo: "32 31 0:29 / /cgroup2 rw - cgroup cgroup rw,cpu\n") == nil)
        #expect(CgroupV2.mount(inMountinfo: "") == nil)
    }

    @Test func componentsBelowAMountPoint() {
        #expect(CgroupV2.components(of: "/sys/fs/cgroup/unified/a/b", below: "/sys/fs/cgroup/unified") == ["a", "b"])
        #expect(CgroupV2.components(of: "/sys/fs/cgroup/unified", below: "/sys/fs/cgroup/unified") == [])
        #expect(CgroupV2.components(of: "/sys/fs/cgroup/unifiedx/a", below: "/sys/fs/cgroup/unified") == nil)
        #expect(CgroupV2.components(of: "/sys/fs/cgroup/cpu/a", below: "/sys/fs/cgroup/unified") == nil)
        #expect(CgroupV2.unescape(#"a\040b\134c\\"#) == #"a b\c\\"#)
    }

    /// On this host: the mount point's cgroup is its directory's inode, at the mount root's level
    /// (the hierarchy's root: id 1, level 0); anything but a cgroup directory is refused.
    @Test func subtreeOfADirectory() throws {
        let found = CgroupV2.mount()
        try Requirement.that(found != nil, "this host has no cgroup2 mount in /proc/self/mountinfo")
        let m = found!
        var st = stat()
        #expect(stat(m.mountPoint, &st) == 0)
        let top = try CgroupV2.subtree(path: m.mountPoint)
        #expect(top == CgroupSubtree(id: UInt64(st.st_ino), level: UInt32(m.root.split(separator: "/").count)))
        if m.root == "/" { #expect(top.level == 0) }
        #expect(throws: SystemError.self) { try CgroupV2.subtree(path: "/proc") }
        #expect(throws: SystemError.self) { try CgroupV2.subtree(path: m.mountPoint + "/cgroup.procs") }
        #expect(throws: SystemError.self) { try CgroupV2.subtree(path: m.mountPoint + "/no-such-cgroup") }
    }
}
