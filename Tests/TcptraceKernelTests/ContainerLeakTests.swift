import Foundation
import Glibc
import Testing
import TcptraceCore
import TcptraceHost

/// A leaking server in a "container": it accepts one connection whose client closes (CLOSE_WAIT)
/// now, prints "ready", and another once told (a line on its standard input).
let lateLeakingServer = """
    import socket, sys, time
    port = int(sys.argv[1])
    srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port)); srv.listen(16)
    held = []
    def leak():
        c = socket.create_connection(("127.0.0.1", port)); c.sendall(b"abc"); s, _ = srv.accept(); held.append(s); c.close()
    leak()
    print("ready", flush=True)
    sys.stdin.readline()
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
        let servers = try containers.indices.map { try containers[$0].python(lateLeakingServer, args: ["9600"], in: scopes[$0]) }
        // The tracer starts after the first leak of each; the second comes once it traces.
        let file = tempPath("leaks.jsonl")
        defer { unlink(file) }
        let (tracer, _) = try Binary.start([
            "--format", "json", "--output", file, "--events", "lingerers", "--close-wait-threshold", "1s", "--port", "9600",
        ])
        for (c, server) in zip(containers, servers) { c.send("go", to: server) }
        func lingering(_ r: [String: Any]) -> Bool { r["type"] as? String == "lingerer" && r["event"] as? String == "lingering" }
        #expect(waitForRecords(in: file, seconds: 10, count: 4, lingering), "four lingerers within 10 s")
        kill(tracer.processIdentifier, SIGINT)
        tracer.waitUntilExit()
        #expect(tracer.terminationStatus == 0)
        let lingerers = jsonLines(try String(contentsOfFile: file, encoding: .utf8)).filter(lingering)
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
