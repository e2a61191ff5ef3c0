import Foundation
import Glibc
import Testing
import TcptraceCore
import TcptraceHost

extension Container {
    /// The namespace's inode, as `stat -L /proc/PID/ns/net` shows it for its processes.
    var inode: UInt32 { UInt32(truncatingIfNeeded: (try? statInode("-L", "/run/netns/\(name)")) ?? 0) }

    /// Runs `script` with python3 in the namespace and in cgroup `subgroup`; returns once it
    /// printed "ready".
    @discardableResult
    func python(_ script: String, args: [String], in subgroup: String) throws -> Process {
        let (p, out) = try start(script, args, cgroup: cgroup + "/" + subgroup)
        let line = try LeakyServer.readLine(out)
        guard line == "ready" else { throw SocketError(op: "python in \(name) said \(line)", errno: 0) }
        return p
    }

    /// Sockets `ss` counts in `state` inside the namespace.
    func ssCount(_ state: String) throws -> Int {
        try command(["/usr/sbin/ip", "netns", "exec", name, "ss", "-tanH", "state", state]).split(separator: "\n").count
    }
}

/// A server that leaves `closeWait` accepted sockets in CLOSE_WAIT and `timeWait` client
/// sockets in TIME_WAIT on 127.0.0.1:PORT, then prints "ready" and waits.
let leakingServer = """
    import socket, sys, time
    port, cw, tw = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port)); srv.listen(64)
    held = []
    for i in range(cw):
        c = socket.create_connection(("127.0.0.1", port)); s, _ = srv.accept(); held.append(s); c.close()
    for i in range(tw):
        c = socket.create_connection(("127.0.0.1", port)); s, _ = srv.accept(); c.close(); s.recv(1); s.close()
    time.sleep(0.2)
    print("ready", flush=True)
    time.sleep(120)
    """

@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct NamespaceCensusTests {
    struct Line {
        var netns: UInt32?
        var states: [String: Int]
        var total: Int
    }

    func census(_ args: [String]) throws -> [Line] {
        let r = try Binary.run(["census", "--format", "json"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        return try r.stdout.split(separator: "\n").map { line in
            let o = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(o["type"] as? String == "census")
            return Line(
                netns: (o["netns"] as? NSNumber).map { UInt32(truncating: $0) }, states: o["states"] as? [String: Int] ?? [:],
                total: o["total"] as? Int ?? -1)
        }
    }

    @Test func censusCountsEveryNamespaceAsSSDoesInsideIt() throws {
        try KernelGate.check()
        let a = try Container("ca"), b = try Container("cb")
        defer {
            a.remove()
            b.remove()
        }
        // The same address and port in both: only the namespace tells them apart.
        try a.python(leakingServer, args: ["9400", "3", "5"], in: "server")
        try b.python(leakingServer, args: ["9400", "2", "7"], in: "server")

        let lines = try census([])
        for ns in [a, b] {
            let line = try #require(lines.first { $0.netns == ns.inode }, "no census line for \(ns.name)")
            #expect(line.states["TIME_WAIT"] == (try ns.ssCount("time-wait")), "\(ns.name)")
            #expect(line.states["CLOSE_WAIT"] == (try ns.ssCount("close-wait")), "\(ns.name)")
            #expect(line.states["LISTEN"] == 1)
        }
        #expect(lines.first { $0.netns == a.inode }?.states["CLOSE_WAIT"] == 3)
        #expect(lines.first { $0.netns == b.inode }?.states["TIME_WAIT"] == 7)
        // The last line is the total over every namespace counted.
        let total = try #require(lines.last)
        #expect(total.netns == nil)
        #expect(total.total == lines.dropLast().reduce(0) { $0 + $1.total })

        // --netns picks one, by name or by inode; no total then.
        for spec in [b.name, String(b.inode), "/run/netns/\(b.name)"] {
            let one = try census(["--netns", spec])
            #expect(one.count == 1 && one[0].netns == b.inode, "\(spec)")
            #expect(one.first?.states["TIME_WAIT"] == 7)
        }
        let r = try Binary.run(["census", "--netns", "4294967295"])
        #expect(r.status == 64 && r.stderr.contains("no network namespace"))
    }
}

/// A leaking server in a "container": it accepts one connection whose client closes (CLOSE_WAIT)
/// now, prints "ready", and after `delay` seconds another.
let lateLeakingServer = """
    import socket, sys, time
    port, delay = int(sys.argv[1]), float(sys.argv[2])
    srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port)); srv.listen(16)
    held = []
    def leak():
        c = socket.create_connection(("127.0.0.1", port)); c.sendall(b"abc"); s, _ = srv.accept(); held.append(s); c.close()
    leak()
    print("ready", flush=True)
    time.sleep(delay)
    leak()
    time.sleep(60)
    """

@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct ContainerLeakTests {
    /// Two containers (a network namespace and a cgroup of their own each, the same
    /// 127.0.0.1:PORT in both) leak CLOSE_WAIT, once before the tracer starts and once after:
    /// every leak is named with pid, fd, the namespace's inode, the cgroup's id and path.
    @Test func leaksInContainersAreNamedBeforeAndAfterTheStart() throws {
        try KernelGate.check()
        let ids = ["a", "b"].map { _ in (0..<64).map { _ in String("0123456789abcdef".randomElement()!) }.joined() }
        let scopes = ids.map { "docker-\($0).scope" }
        let containers = [try Container("la", subgroups: [scopes[0]]), try Container("lb", subgroups: [scopes[1]])]
        defer { for c in containers { c.remove() } }
        let dirs = containers.indices.map { containers[$0].cgroup + "/" + scopes[$0] }
        for (i, c) in containers.enumerated() { try c.python(lateLeakingServer, args: ["9600", "3"], in: scopes[i]) }
        // The tracer starts after the first leak of each; the second comes 3 s after "ready".
        let r = try Binary.run(
            ["--format", "json", "--events", "lingerers", "--close-wait-threshold", "1s", "--duration", "6s", "--port", "9600"],
            timeout: 30)
        #expect(r.status == 0, "\(r.stderr)")
        let lingerers = try r.stdout.split(separator: "\n").compactMap { line -> [String: Any]? in
            let o = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return o["type"] as? String == "lingerer" && o["event"] as? String == "lingering" ? o : nil
        }
        for (i, c) in containers.enumerated() {
            let mine = lingerers.filter { ($0["netns"] as? NSNumber)?.uint32Value == c.inode }
            #expect(mine.count == 2, "\(c.name): \(mine)")
            #expect(mine.filter { $0["age_is_lower_bound"] as? Bool == true }.count == 1, "one leak predates the tracer")
            var st = stat()
            stat(dirs[i], &st)
            // The holder's process by the pid the test started: `ip netns exec` execs python3.
            let pidPath = "\(dirs[i])/cgroup.procs"
            let inCgroup = (try? String(contentsOfFile: pidPath, encoding: .utf8))?.split(separator: "\n").compactMap { Int32($0) } ?? []
            for l in mine {
                let holder = l["holder"] as? [String: Any]
                #expect(inCgroup.contains((holder?["pid"] as? NSNumber)?.int32Value ?? -1), "\(l)")
                #expect((holder?["fd"] as? NSNumber) != nil)
                #expect((l["cgroup"] as? NSNumber)?.uint64Value == UInt64(st.st_ino), "\(l)")
                let container = l["container"] as? [String: Any]
                #expect(container?["runtime"] as? String == "docker" && container?["id"] as? String == ids[i], "\(l)")
                #expect((container?["path"] as? String)?.hasSuffix("/docker-\(ids[i]).scope") == true)
            }
        }
    }
}
