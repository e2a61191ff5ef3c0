import Foundation
import Glibc
import Testing
import TcptraceKernel
import TcptraceHost
import TcptraceCore

/// Accepts one connection on 127.0.0.1:PORT, reads it to EOF and closes it, then closes the
/// listener. Prints "listening" once it listens.
let namespaceServer = """
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
let namespaceClient = """
    import socket, sys
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    c.sendall(b"x" * 100)
    c.close()
    """

/// A "container": a network namespace (`ip netns add`, loopback up) and a cgroup v2 directory of
/// its own with cgroups below it (`server` and `client` unless told otherwise). `remove()` (also on deinit) kills
/// what still runs and deletes the namespace and the cgroups, whatever happened before.
final class Container {
    static let prefix = "tcptrace-test-"

    let name: String
    /// The container's cgroup directory, under the cgroup2 mount found in /proc/self/mountinfo.
    let cgroup: String
    var serverCgroup: String { cgroup + "/server" }
    var clientCgroup: String { cgroup + "/client" }
    /// The cgroups below `cgroup`, by name.
    let subgroups: [String]
    private var processes: [Process] = []
    private var removed = false

    init(_ tag: String, subgroups: [String] = ["server", "client"]) throws {
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
    func start(_ script: String, _ args: [String], cgroup dir: String) throws -> (Process, Pipe) {
        let p = Process()
        let out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [
            "-c",
            #"dir=$0; ns=$1; script=$2; shift 2; echo $$ > "$dir/cgroup.procs" && exec /usr/sbin/ip netns exec "$ns" /usr/bin/python3 -c "$script" "$@""#,
            dir, name, script,
        ] + args
        p.standardOutput = out
        try p.run()
        processes.append(p)
        return (p, out)
    }

    /// Where one exchange's processes lived, measured from outside.
    struct Exchange {
        var serverPID: UInt32
        var clientPID: UInt32
        /// `stat -L -c %i /proc/SERVER/ns/net`
        var netns: UInt64
        /// `stat -c %i` of the cgroup directories.
        var serverCgroup: UInt64
        var clientCgroup: UInt64
    }

    /// A python server on 127.0.0.1:`port` in the `server` cgroup and one python client in the
    /// `client` cgroup, both in this namespace; the client closes first. Returns once both exited.
    func exchange(port: UInt16) throws -> Exchange {
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
    func remove() {
        if removed { return }
        removed = true
        for p in processes where p.isRunning {
            kill(p.processIdentifier, SIGKILL)  // not SIGTERM: Foundation's children have it blocked
        }
        for p in processes { p.waitUntilExit() }
        Self.removeNamespace(name)
        for dir in subgroups.map({ cgroup + "/" + $0 }) + [cgroup] { Self.removeCgroup(dir) }
    }

    static func removeNamespace(_ name: String) {
        if access("/run/netns/\(name)", F_OK) == 0 { _ = try? command(["/usr/sbin/ip", "netns", "del", name]) }
    }

    /// rmdir of a cgroup fails (EBUSY) until its last task is gone: retried for up to 2 s.
    static func removeCgroup(_ dir: String) {
        for _ in 0..<200 {
            if rmdir(dir) == 0 || errno == ENOENT { return }
            usleep(10_000)
        }
        Issue.record("cannot remove cgroup \(dir): \(String(cString: strerror(errno)))")
    }

    /// Namespaces and cgroups left by earlier runs that were killed before they could clean up
    /// (their pid is gone).
    static func removeLeftovers(cgroupMount: String) {
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

/// Runs a command to completion; throws with its stderr when it fails.
@discardableResult
func command(_ argv: [String]) throws -> String {
    let p = Process()
    let out = Pipe(), err = Pipe()
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    if p.terminationStatus != 0 {
        throw SocketError(op: "\(argv.joined(separator: " ")): exit \(p.terminationStatus): \(errors)", errno: 0)
    }
    return text
}

/// The inode `stat` prints: what the records' netns and cgroup are documented to equal.
func statInode(_ args: String...) throws -> UInt64 {
    let text = try command(["/usr/bin/stat", "-c", "%i"] + args)
    return try #require(UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)), "stat printed \(text)")
}

/// Containers: each transition says which network namespace and cgroup its socket lives in, and
/// the kernel filters keep one namespace or one cgroup subtree.
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct NamespaceTests {
    /// Below the ephemeral range: no test in this namespace listens there or connects from there.
    static func port() -> UInt16 { UInt16.random(in: 20000..<32000) }

    /// Sockets of one exchange, by what their first transition says they are.
    struct Sockets {
        var listener: [Transition]
        var client: [Transition]
        var server: [Transition]

        init(_ transitions: [Transition]) throws {
            let byCookie = Dictionary(grouping: transitions, by: \.identity.cookie)
            #expect(byCookie.count == 3, "\(byCookie.mapValues(path))")
            listener = try #require(byCookie.values.first { $0.first?.new == .listen })
            client = try #require(byCookie.values.first { $0.first?.new == .synSent })
            server = try #require(byCookie.values.first { $0.first?.old == .listen })
        }
    }

    /// Two containers listen on the same 127.0.0.1:PORT: their sockets are told apart by netns,
    /// and each socket's cgroup is its own: the client's, the listener's, and for the accepted
    /// socket the listener's, although its first transitions (LISTEN -> SYN_RECV ->
    /// ESTABLISHED, at the client's final ACK) run in softirq, on loopback usually in the
    /// client's process context.
    @Test func transitionsSayWhichContainer() throws {
        try KernelGate.check()
        let a = try Container("a")
        defer { a.remove() }
        let b = try Container("b")
        defer { b.remove() }
        let port = Self.port()
        var filter = TraceFilter()
        filter.ports = [port]
        let collector = try Collector(filter: filter)
        let runs = [try a.exchange(port: port), try b.exchange(port: port)]
        try collector.collect(atLeast: 24)

        let own = try statInode("-L", "/proc/self/ns/net")
        #expect(runs[0].netns != runs[1].netns && !runs.contains { $0.netns == own })
        #expect(Set(collector.transitions.map(\.identity.netns)) == [UInt32(runs[0].netns), UInt32(runs[1].netns)])
        for run in runs {
            let s = try Sockets(collector.transitions.filter { $0.identity.netns == UInt32(run.netns) })
            #expect(path(s.listener) == listenerPath && path(s.client) == clientPath && path(s.server) == serverPath)
            #expect(s.listener.allSatisfy { $0.identity.localPort == port && $0.identity.local == IPAddress("127.0.0.1")! })
            #expect(run.serverCgroup != run.clientCgroup)
            #expect(s.listener.allSatisfy { $0.identity.cgroup == run.serverCgroup }, "\(s.listener.map(\.identity.cgroup))")
            #expect(s.server.allSatisfy { $0.identity.cgroup == run.serverCgroup }, "\(s.server.map(\.identity.cgroup))")
            #expect(s.client.allSatisfy { $0.identity.cgroup == run.clientCgroup }, "\(s.client.map(\.identity.cgroup))")
            #expect(s.listener.first?.owner?.pid == run.serverPID && s.server.first?.owner?.pid == run.serverPID)
            #expect(s.client.first?.owner?.pid == run.clientPID)
        }
    }

    /// A netns filter keeps one container's transitions; a cgroup filter one subtree's: a whole
    /// container's, or only its `server` cgroup's. Traffic in this process's namespace and cgroup
    /// (the root) passes none of them.
    @Test func filtersKeepOneNamespaceOrCgroupSubtree() throws {
        try KernelGate.check()
        let a = try Container("a")
        defer { a.remove() }
        let b = try Container("b")
        defer { b.remove() }
        let port = Self.port()

        let aNamespace = try statInode("-L", "/run/netns/\(a.name)")
        let bSubtree = try CgroupV2.subtree(path: b.cgroup)
        let aServers = try CgroupV2.subtree(path: a.serverCgroup)
        let (bTopInode, aServerInode) = (try statInode(b.cgroup), try statInode(a.serverCgroup))
        #expect(bSubtree.id == bTopInode && aServers.id == aServerInode)
        #expect(aServers.level == bSubtree.level + 1)
        var f = TraceFilter()
        f.netns = UInt32(aNamespace)
        let inA = try Collector(filter: f)
        f = TraceFilter()
        f.cgroupSubtree = bSubtree
        let underB = try Collector(filter: f)
        f = TraceFilter()
        f.cgroupSubtree = aServers
        let aServerOnly = try Collector(filter: f)

        let runA = try a.exchange(port: port)
        let runB = try b.exchange(port: port)
        let (listener, rootPort) = try Loopback.bound(.v4)
        try Loopback.listen(listener)
        let served = Loopback.serve(listener, count: 1)
        let c = try Loopback.connect(.v4, port: rootPort)
        close(c)
        served.wait()
        close(listener)

        try inA.collect(atLeast: 12)
        #expect(inA.transitions.count == 12, "\(inA.sockets.mapValues(path))")
        #expect(inA.transitions.allSatisfy { $0.identity.netns == UInt32(runA.netns) })
        #expect(Set(inA.transitions.map(\.identity.cgroup)) == [runA.serverCgroup, runA.clientCgroup])
        let s = try Sockets(inA.transitions)
        #expect(path(s.listener) == listenerPath && path(s.client) == clientPath && path(s.server) == serverPath)

        try underB.collect(atLeast: 12)
        #expect(underB.transitions.count == 12, "\(underB.sockets.mapValues(path))")
        #expect(underB.transitions.allSatisfy { $0.identity.netns == UInt32(runB.netns) })
        #expect(Set(underB.transitions.map(\.identity.cgroup)) == [runB.serverCgroup, runB.clientCgroup])

        try aServerOnly.collect(atLeast: 7)
        #expect(aServerOnly.transitions.count == 7, "\(aServerOnly.sockets.mapValues(path))")
        #expect(aServerOnly.transitions.allSatisfy { $0.identity.cgroup == runA.serverCgroup })
        #expect(Set(aServerOnly.sockets.values.map(path)) == [listenerPath, serverPath])

        for collector in [inA, underB, aServerOnly] {
            #expect(collector.tracer.kernelCounters().filtered > 0)
        }
    }
}
