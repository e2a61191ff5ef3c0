import Foundation
import Glibc
import Testing
import TcptraceHost

/// Makes a socket that stays in SYN_SENT in a namespace of its own (a listener with backlog 0
/// holds one connection it never accepts; the next SYN finds its queue full and is dropped, again
/// and again), then moves itself to the namespace of process argv[2] (the test's) with setns(2): once the namespace's
/// name is deleted, no process and no /run/netns entry leads to it, yet its sockets keep it alive.
/// Prints "ready" with the stalled socket's local port, then on a line on stdin closes everything
/// and prints "closed".
let hiddenNamespaceConnect = """
    import ctypes, os, socket, sys
    port = int(sys.argv[1])
    l = socket.socket()
    l.bind(("127.0.0.1", port))
    l.listen(0)
    first = socket.create_connection(("127.0.0.1", port))
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    host = os.open("/proc/%s/ns/net" % sys.argv[2], os.O_RDONLY)
    if ctypes.CDLL(None, use_errno=True).setns(host, 0x40000000) != 0:
        raise OSError(ctypes.get_errno(), "setns")
    print("ready", s.getsockname()[1], flush=True)
    sys.stdin.readline()
    s.close()
    first.close()
    l.close()
    print("closed", flush=True)
    """

/// Reconciliation (dropping table entries whose socket a sock_diag dump no longer finds) must
/// only judge the namespaces the dump reached. A socket in a namespace nobody can name any more
/// (a container deleted while its orphans time out) is alive, not lost.
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct ReconciliationTests {
    static let port: UInt16 = 22510

    @Test func aSocketInANamespaceNoDumpReachesIsNotCountedLost() throws {
        try KernelGate.check()
        let container = try Container("hidden", subgroups: ["client"])
        defer { container.remove() }
        let netns = container.inode
        let file = tempPath("hidden.jsonl")
        defer { unlink(file) }
        let (tracer, _) = try Binary.start(["--format", "json", "--output", file, "--rport", String(Self.port)])
        var stopped = false
        defer { if !stopped { kill(tracer.processIdentifier, SIGKILL); tracer.waitUntilExit() } }

        let (client, out) = try container.start(hiddenNamespaceConnect, [String(Self.port), String(getpid())], cgroup: container.cgroup + "/client")
        let ready = try LeakyServer.readLine(out).split(separator: " ")
        try #require(ready.first == "ready", "the client said \(ready)")
        let localPort = try #require(ready.count == 2 ? Int(ready[1]) : nil)
        Container.removeNamespace(container.name)
        #expect(access("/run/netns/\(container.name)", F_OK) != 0)
        // Idle in SYN_SENT (a state the kernel's timers end) past the reconciliation's 5 s idle
        // time, with at least one 5 s round after it: a dump runs, and cannot reach the namespace.
        sleep(12)
        container.send("go", to: client)
        #expect(try LeakyServer.readLine(out) == "closed")
        client.waitUntilExit()
        usleep(300_000)
        kill(tracer.processIdentifier, SIGTERM)
        tracer.waitUntilExit()
        stopped = true
        #expect(tracer.terminationStatus == 0)

        let records = jsonLines(try String(contentsOfFile: file, encoding: .utf8))
        let summary = try #require(records.last { $0["type"] as? String == "summary" })
        #expect((summary["lost"] as? [String: Any])?["unseen"] as? Int == 0, "\(summary["lost"] ?? "")")
        #expect(summary["vanished_connections"] as? Int == 0)
        // Its whole life, in one record: SYN_SENT, then CLOSE when the client gave up.
        let mine = records.filter {
            $0["type"] as? String == "connection" && $0["rport"] as? Int == Int(Self.port) && $0["lport"] as? Int == localPort
        }
        try #require(mine.count == 1, "\(mine)")
        #expect((mine[0]["netns"] as? Int).map(UInt32.init) == netns)
        #expect(mine[0]["partial"] as? Bool == false && mine[0]["gap"] as? Bool != true, "\(mine[0])")
    }
}
