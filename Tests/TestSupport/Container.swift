import Foundation
import Glibc
import Testing
import TcptraceHost

/// Accepts one connection on 127.0.0.1:PORT, reads it to EOF and closes it, then closes the
/// listener. Prints "listening" once it listens.
public let namespaceServer = """
    import socket, sys
    s = socket.socket()
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(16)
    print("listening", flush=True)
    c, _ = s.accept()
    while c.recv(65536):
        pass
    c.close()
    s.close()
    """

/// Connects to 127.0.0.1:PORT, sends 100 bytes and closes first.
public let namespaceClient = """
    import socket, sys
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    c.sendall(b"x" * 100)
    c.close()
    """

/// A "container": a network namespace (`ip netns add`, loopback up) and a cgroup v2 directory of
/// its own with cgroups below it (`server` and `client` unless told otherwise). `remove()` (also on deinit) kills
/// what still runs and deletes the namespace and the cgroups, whatever happened before.
public final class Container {
    public static let prefix = "tcptrace-test-"

    public let name: String
    /// The container's cgroup directory, under the cgroup2 mount found in /proc/self/mountinfo.
    public let cgroup: String
    public var serverCgroup: String { cgroup + "/server" }
    public var clientCgroup: String { cgroup + "/client" }
    /// The cgroups below `cgroup`, by name.
    public let subgroups: [String]
    private var processes: [Process] = []
    private var inputs: [Int32: Pipe] = [:]
    private var removed = false

    public init(_ tag: String, subgroups: [String] = ["server", "client"]) throws {
        self.subgroups = subgroups
        let mount = try #require(CgroupV2.mount(), "no cgroup2 mount in /proc/self/mountinfo")
        Self.removeLeftovers(cgroupMount: mount.mountPoint)
        name = "\(Self.prefix)\(getpid())-\(tag)"
        cgroup = mount.mountPoint + "/" + name
        do {
            try command(["/usr/sbin/ip", "netns", "add", name])
            try command(["/usr/sbin/ip", "-n", name, "link", "set", "lo", "up"])
            for dir in [cgroup] + subgroups.map({ cgroup + "/" + $0 }) where mkdir(dir, 0o755) != 0 {
                throw SocketError(op: "mkdir \(dir)", errno: errno)
            }
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// Starts `python3 -c script args…` in this namespace and in cgroup directory `dir`: the shell
    /// writes its own pid into the cgroup's cgroup.procs, then becomes `ip netns exec`, which
    /// becomes python (neither forks), so python runs, and makes its sockets, in the cgroup.
    public func start(_ script: String, _ args: [String], cgroup dir: String) throws -> (Process, Pipe) {
        let p = Process()
        let out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [
            "-c",
            #"dir=$0; ns=$1; script=$2; shift 2; echo $$ > "$dir/cgroup.procs" && exec /usr/sbin/ip netns exec "$ns" /usr/bin/python3 -c "$script" "$@""#,
            dir, name, script,
        ] + args
        p.standardOutput = out
        let input = Pipe()
        p.standardInput = input
        try p.run()
        processes.append(p)
        inputs[p.processIdentifier] = input
        return (p, out)
    }

    /// Writes `line` to the standard input of `process` (started by `start`).
    public func send(_ line: String, to process: Process) {
        inputs[process.processIdentifier]?.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    /// Where one exchange's processes lived, measured from outside.
    public struct Exchange {
        public var serverPID: UInt32
        public var clientPID: UInt32
        /// `stat -L -c %i /proc/SERVER/ns/net`
        public var netns: UInt64
        /// `stat -c %i` of the cgroup directories.
        public var serverCgroup: UInt64
        public var clientCgroup: UInt64
    }

    /// A python server on 127.0.0.1:`port` in the `server` cgroup and one python client in the
    /// `client` cgroup, both in this namespace; the client closes first. Returns once both exited.
    public func exchange(port: UInt16) throws -> Exchange {
        let (server, out) = try start(namespaceServer, [String(port)], cgroup: serverCgroup)
        try #require(try LeakyServer.readLine(out) == "listening", "the server in \(name) did not start")
        let serverPID = UInt32(server.processIdentifier)
        let netns = try statInode("-L", "/proc/\(serverPID)/ns/net")
        let named = try statInode("-L", "/run/netns/\(name)")
        #expect(netns == named)
        #expect(
            Sysctl.readFile("/proc/\(serverPID)/cgroup")?.split(separator: "\n").contains("0::/\(name)/server") == true,
            "the server runs in its cgroup")
        let (client, _) = try start(namespaceClient, [String(port)], cgroup: clientCgroup)
        client.waitUntilExit()
        server.waitUntilExit()
        #expect(client.terminationStatus == 0 && server.terminationStatus == 0)
        return Exchange(
            serverPID: serverPID, clientPID: UInt32(client.processIdentifier), netns: netns,
            serverCgroup: try statInode(serverCgroup), clientCgroup: try statInode(clientCgroup))
    }

    /// Kills what still runs, then deletes the namespace and the cgroups. Idempotent.
    public func remove() {
        if removed { return }
        removed = true
        for p in processes where p.isRunning {
            kill(p.processIdentifier, SIGKILL)  // not SIGTERM: Foundation's children have it blocked
        }
        for p in processes { p.waitUntilExit() }
        Self.removeNamespace(name)
        for dir in subgroups.map({ cgroup + "/" + $0 }) + [cgroup] { Self.removeCgroup(dir) }
    }

    public static func removeNamespace(_ name: String) {
        if access("/run/netns/\(name)", F_OK) == 0 { _ = try? command(["/usr/sbin/ip", "netns", "del", name]) }
    }

    /// rmdir of a cgroup fails (EBUSY) until its last task is gone: retried for up to 2 s.
    public static func removeCgroup(_ dir: String) {
        for _ in 0..<200 {
            if rmdir(dir) == 0 || errno == ENOENT { return }
            usleep(10_000)
        }
        Issue.record("cannot remove cgroup \(dir): \(String(cString: strerror(errno)))")
    }

    /// Namespaces and cgroups left by earlier runs that were killed before they could clean up
    /// (their pid is gone).
    public static func removeLeftovers(cgroupMount: String) {
        func stale(_ entry: String) -> Bool {
            guard entry.hasPrefix(prefix), let pid = Int32(entry.dropFirst(prefix.count).prefix(while: \.isNumber)) else {
                return false
            }
            return pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
        }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? [] where stale(entry) {
            removeNamespace(entry)
        }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: cgroupMount)) ?? [] where stale(entry) {
            let dir = cgroupMount + "/" + entry
            for sub in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                var st = stat()
                if stat(dir + "/" + sub, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR { removeCgroup(dir + "/" + sub) }
            }
            removeCgroup(dir)
        }
    }
}

/// The inode `stat` prints: what the records' netns and cgroup are documented to equal.
public func statInode(_ args: String...) throws -> UInt64 {
    let text = try command(["/usr/bin/stat", "-c", "%i"] + args)
    return try #require(UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)), "stat printed \(text)")
}

extension Container {
    /// The namespace's inode, as `stat -L /proc/PID/ns/net` shows it for its processes.
    public var inode: UInt32 { UInt32(truncatingIfNeeded: (try? statInode("-L", "/run/netns/\(name)")) ?? 0) }

    /// Runs `script` with python3 in the namespace and in cgroup `subgroup`; returns once it
    /// printed "ready".
    @discardableResult
    public func python(_ script: String, args: [String], in subgroup: String) throws -> Process {
        let (p, out) = try start(script, args, cgroup: cgroup + "/" + subgroup)
        let line = try LeakyServer.readLine(out)
        guard line == "ready" else { throw SocketError(op: "python in \(name) said \(line)", errno: 0) }
        return p
    }

    /// Sockets `ss` counts in `state` inside the namespace.
    public func ssCount(_ state: String) throws -> Int {
        try command(["/usr/sbin/ip", "netns", "exec", name, "ss", "-tanH", "state", state]).split(separator: "\n").count
    }
}
