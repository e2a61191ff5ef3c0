import Foundation
import Glibc
import Testing
import TcptraceHost
import TcptraceCore

// Glibc's module map hides these (_GNU_SOURCE); they are plain libc symbols.
@_silgen_name("unshare") func sys_unshare(_ flags: Int32) -> Int32
@_silgen_name("setns") func sys_setns(_ fd: Int32, _ nstype: Int32) -> Int32
let cloneNewNet: Int32 = 0x4000_0000  // CLONE_NEWNET

/// sock_diag against `ss` on real loopback sockets, in a network namespace of the test's own
/// (root; no BPF program).
@Suite(.serialized, .enabled(if: Requirement.rootOrRequired, "needs root: a network namespace of its own (unshare CLONE_NEWNET)"))
struct CensusLiveTests {
    /// Lines `ss` prints for `state` with `port` on either side.
    func ssCount(_ state: String, port: UInt16, family: Loopback.Family) throws -> Int {
        try command([
            "/usr/bin/ss", "-tanH", family == .v4 ? "-4" : "-6", "state", state, "(", "sport", "=", ":\(port)", "or", "dport", "=", ":\(port)", ")",
        ]).split(separator: "\n").count
    }

    /// TIME_WAIT is capped per network namespace (tcp_max_tw_buckets); another program on the
    /// host can fill it, and then no new TIME_WAIT socket exists. So the test runs in a fresh
    /// network namespace, entered by this thread only, with everything on this thread.
    @Test(arguments: [Loopback.Family.v4, .v6])
    func timeWaitAndCloseWaitCountedAsSSCounts(_ family: Loopback.Family) throws {
        try Requirement.root("the test counts in a network namespace of its own (unshare CLONE_NEWNET)")
        let original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        try #require(original >= 0)
        defer {
            sys_setns(original, cloneNewNet)
            close(original)
        }
        try #require(sys_unshare(cloneNewNet) == 0, "unshare(CLONE_NEWNET): \(String(cString: strerror(errno)))")
        try #require(Self.loopbackUp(), "cannot bring lo up: \(String(cString: strerror(errno)))")
        try run(family)
    }

    /// SIOCSIFFLAGS lo IFF_UP, as `ip link set lo up`.
    static func loopbackUp() -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        if fd < 0 { return false }
        defer { close(fd) }
        var req = ifreq()
        withUnsafeMutableBytes(of: &req.ifr_ifrn.ifrn_name) { $0.copyBytes(from: Array("lo".utf8) + [0]) }
        if ioctl(fd, UInt(SIOCGIFFLAGS), &req) != 0 { return false }
        req.ifr_ifru.ifru_flags |= Int16(IFF_UP)
        return ioctl(fd, UInt(SIOCSIFFLAGS), &req) == 0
    }

    func run(_ family: Loopback.Family) throws {
        let timeWaitCount = 50, closeWaitCount = 20

        // K clients close first; the server reads to EOF and closes: each client is in TIME_WAIT.
        let (twListener, twPort) = try Loopback.bound(family)
        try Loopback.listen(twListener)
        for _ in 0..<timeWaitCount {
            let c = try Loopback.connect(family, port: twPort)
            let s = try Loopback.accept(twListener)
            close(c)
            _ = Loopback.readToEOF(s)
            close(s)
        }
        close(twListener)

        // M clients close; the server accepted but never closes: each accepted socket is in CLOSE_WAIT.
        let (cwListener, cwPort) = try Loopback.bound(family)
        try Loopback.listen(cwListener)
        var held: [Int32] = []
        defer {
            for fd in held { close(fd) }
            close(cwListener)
        }
        for _ in 0..<closeWaitCount {
            let c = try Loopback.connect(family, port: cwPort)
            held.append(try Loopback.accept(cwListener))
            close(c)
        }
        usleep(100_000)  // let the last FINs be processed

        let sockets = try SockDiag.dump(families: family == .v4 ? [.ipv4] : [.ipv6])
        let tw = Census(time: SystemClock.wallNow(), sockets: sockets, filter: CensusFilter(ports: [twPort]))
        let cw = Census(time: SystemClock.wallNow(), sockets: sockets, filter: CensusFilter(ports: [cwPort]))
        #expect(tw.count(.timeWait) == timeWaitCount)
        #expect(try ssCount("time-wait", port: twPort, family: family) == tw.count(.timeWait))
        #expect(cw.count(.closeWait) == closeWaitCount)
        #expect(try ssCount("close-wait", port: cwPort, family: family) == cw.count(.closeWait))
        #expect(try ssCount("fin-wait-2", port: cwPort, family: family) == cw.count(.finWait2))
        #expect(cw.count(.listen) == 1)

        // The snapshots carry the right identity: held sockets' inodes, non-zero cookies.
        let closeWaitInodes = Set(sockets.filter { $0.state == .closeWait && $0.localPort == cwPort }.map(\.inode))
        #expect(closeWaitInodes == Set(held.map(Loopback.inode)))
        #expect(sockets.filter { $0.localPort == cwPort || $0.remotePort == cwPort }.allSatisfy { $0.cookie != 0 })
        // Peers: all TIME_WAIT sockets are outbound to the one listener port.
        #expect(tw.topTimeWait.first?.count == timeWaitCount && tw.topTimeWait.first?.peer.remotePort == twPort)
        #expect(cw.topCloseWait.first?.count == closeWaitCount && cw.topCloseWait.first?.peer.localPort == cwPort)

        // Both families in one walk (the legacy request) and one request per family list the
        // same sockets, listeners before all others.
        for singleWalk in [true, false] {
            var seen: [SocketSnapshot] = []
            try SockDiag.forEach(singleWalk: singleWalk) { seen.append($0) }
            let ours = seen.filter { [twPort, cwPort].contains($0.localPort) || [twPort, cwPort].contains($0.remotePort) }
            #expect(
                Set(ours.map { "\($0.cookie) \($0.state.rawValue)" })
                    == Set(sockets.filter { [twPort, cwPort].contains($0.localPort) || [twPort, cwPort].contains($0.remotePort) }
                        .map { "\($0.cookie) \($0.state.rawValue)" }), "singleWalk \(singleWalk)")
            let firstOther = seen.firstIndex { $0.state != .listen } ?? seen.count
            #expect(!seen[firstOther...].contains { $0.state == .listen }, "singleWalk \(singleWalk): a listener after other sockets")
        }

        // The command says the same, for its own namespace (`host`: the one it runs in, here this
        // test's).
        let r = try Binary.run(["census", "--format", "json", "--netns", "host", family == .v4 ? "-4" : "-6", "--port", "\(twPort),\(cwPort)"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = jsonLines(r.stdout)
        #expect(lines.count == 1)
        let states = try #require(lines.first?["states"] as? [String: Int])
        #expect(states["TIME_WAIT"] == timeWaitCount && states["CLOSE_WAIT"] == closeWaitCount)
        #expect(lines.first?["type"] as? String == "census")
    }
}
