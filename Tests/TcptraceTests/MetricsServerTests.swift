import Foundation
import Glibc
import Synchronization
import Testing
import TcptraceCore
import TcptraceHost

/// The metrics endpoint against clients any local user can open: idle ones and ones trickling a
/// request head a byte at a time (slowloris), reconnecting as soon as they are dropped.
@Suite(.serialized) struct MetricsServerTests {
    static func connect(port: UInt16) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc != 0 {
            close(fd)
            return nil
        }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// One scrape: the status line (nil: no answer within 3 s, or none at all).
    static func scrape(port: UInt16) -> String? {
        guard let fd = connect(port: port) else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        let text = String(decoding: out, as: UTF8.self)
        return text.isEmpty ? nil : text.components(separatedBy: "\r\n").first
    }

    /// `idle` connections that send nothing and `trickling` ones that send a request head a
    /// byte every 200 ms and never end it; each reopened as soon as the server drops it.
    final class Attackers: @unchecked Sendable {
        let port: UInt16
        let stopping = Atomic<Bool>(false)
        let reconnects = Atomic<Int>(0)
        private let done = DispatchSemaphore(value: 0)

        init(port: UInt16, idle: Int, trickling: Int) {
            self.port = port
            Thread.detachNewThread { [self] in
                var sockets: [(fd: Int32, trickles: Bool)] = []
                func open(_ trickles: Bool) -> (fd: Int32, trickles: Bool)? {
                    guard let fd = MetricsServerTests.connect(port: port) else { return nil }
                    if trickles { MetricsServerTests.send(fd, "GET /me") }
                    return (fd, trickles)
                }
                for i in 0..<(idle + trickling) { if let s = open(i >= idle) { sockets.append(s) } }
                var tick = 0
                while !stopping.load(ordering: .acquiring) {
                    usleep(50_000)
                    tick += 1
                    var fds = sockets.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
                    _ = poll(&fds, nfds_t(fds.count), 0)
                    for i in sockets.indices {
                        if fds[i].revents != 0 {  // dropped by the server (EOF, or a 503): come back
                            close(sockets[i].fd)
                            if let s = open(sockets[i].trickles) { sockets[i] = s }
                            reconnects.add(1, ordering: .relaxed)
                        } else if sockets[i].trickles && tick % 4 == 0 {
                            MetricsServerTests.send(sockets[i].fd, "x")
                        }
                    }
                }
                for s in sockets { close(s.fd) }
                done.signal()
            }
        }

        func stop() {
            stopping.store(true, ordering: .releasing)
            done.wait()
        }
    }

    @Test func aScrapeIsAnsweredWhileHundredsOfIdleAndTricklingClientsHoldOn() throws {
        let server = try MetricsServer(
            address: MetricsAddress(host: IPAddress("127.0.0.1")!, port: 0),
            exchange: MetricsExchange(MetricsSnapshot(summary: RunSummary(start: WallTime(nanoseconds: 0)))))
        server.start()
        defer { server.stop() }
        let port = server.boundPort
        let attackers = Attackers(port: port, idle: 200, trickling: 200)
        defer { attackers.stop() }
        usleep(300_000)  // all 400 connected
        // Scrapes over 6 s: past the server's head timeout, so dropped attackers have come back.
        var answers: [String] = []
        for _ in 0..<12 {
            answers.append(Self.scrape(port: port) ?? "no answer")
            usleep(500_000)
        }
        #expect(answers.allSatisfy { $0 == "HTTP/1.1 200 OK" }, "\(answers)")
        #expect(attackers.reconnects.load(ordering: .relaxed) >= 400, "the attackers were dropped and came back")
    }
}
