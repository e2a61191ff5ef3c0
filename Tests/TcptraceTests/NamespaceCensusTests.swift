import Foundation
import Glibc
import Testing
import TcptraceCore

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

/// `census` in every network namespace (root: the test makes two; no BPF program).
@Suite(.serialized) struct NamespaceCensusTests {
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
        try Requirement.root("the test makes network namespaces and cgroups")
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
