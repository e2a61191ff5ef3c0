import Foundation
import Glibc
import Testing
import TcptraceKernel
import TcptraceHost
import TcptraceCore

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
        try Loopback.oneConnection()

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
