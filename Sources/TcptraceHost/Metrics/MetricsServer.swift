import Glibc
import Synchronization
import TcptraceCore

/// `GET /metrics` over HTTP/1.1 on its own thread, so a scrape never waits for the ring consumer
/// nor the consumer for a scrape. One poll loop serves every client. Bounded: `maxClients` at
/// once, `MetricsHTTP.maxHeadBytes` of request head (431), `headTimeoutNanoseconds` from accept
/// to a whole request head and `timeoutNanoseconds` to the last byte sent (then closed). Any
/// local user can connect, so idle clients cannot keep a scraper out: past `maxClients`, the
/// oldest client still without a whole request is closed to make room (503 only when every
/// slot is sending an answer), and a new client's request is read as soon as it is accepted.
public final class MetricsServer: @unchecked Sendable {
    public static let maxClients = 256
    /// A scraper sends its request at once; an idle or trickling client is dropped after this.
    public static let headTimeoutNanoseconds: UInt64 = 2_000_000_000
    public static let timeoutNanoseconds: UInt64 = 5_000_000_000
    /// How long one poll waits, so a stop is seen promptly.
    static let pollMilliseconds: Int32 = 200

    let address: MetricsAddress
    private let listener: Int32
    private let exchange: MetricsExchange
    private let stopping = Atomic<Bool>(false)
    private var thread: pthread_t?

    /// Binds and listens now (before the program is loaded): an address in use or not local
    /// is the user's to fix.
    public init(address: MetricsAddress, exchange: MetricsExchange) throws(SystemError) {
        self.address = address
        self.exchange = exchange
        let v6 = address.host.family == .ipv6
        let fd = Glibc.socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if fd < 0 { throw .call("socket for --metrics-address", errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if v6 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) }
        var rc = Self.withSockaddr(address) { Glibc.bind(fd, $0, $1) }
        if rc == 0 { rc = Glibc.listen(fd, 128) }
        if rc != 0 {
            let e = errno
            Glibc.close(fd)
            if e == EACCES || e == EPERM {
                // A port below net.ipv4.ip_unprivileged_port_start: a permission, not a busy port.
                throw .notPermitted(
                    "cannot listen on --metrics-address \(address): \(String(cString: strerror(e))) (ports below \(Sysctl.unprivilegedPortStart ?? 1024) need CAP_NET_BIND_SERVICE)")
            }
            throw .cannotListen("cannot listen on --metrics-address \(address): \(String(cString: strerror(e)))")
        }
        listener = fd
    }

    deinit {
        stop()
        Glibc.close(listener)
    }

    /// The port bound (the one asked for, or the kernel's pick for port 0).
    public var boundPort: UInt16 {
        var a = sockaddr_in6()
        var len = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
        return UInt16(bigEndian: a.sin6_port)  // sin_port and sin6_port share the offset
    }

    public func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(
            &t, nil,
            { arg in
                let server = Unmanaged<MetricsServer>.fromOpaque(arg!).takeRetainedValue()
                // Signals are the main thread's: its poll must be the one they interrupt.
                var all = sigset_t()
                sigfillset(&all)
                pthread_sigmask(SIG_BLOCK, &all, nil)
                server.serve()
                return nil
            }, box)
        if rc == 0 { thread = t } else { Unmanaged<MetricsServer>.fromOpaque(box).release() }
    }

    /// Ends the thread (within one poll interval) and waits for it.
    public func stop() {
        guard let t = thread else { return }
        stopping.store(true, ordering: .releasing)
        pthread_join(t, nil)
        thread = nil
    }

    private struct Client {
        var fd: Int32
        var received: [UInt8] = []
        var response: [UInt8]? = nil
        var sent = 0
        var accepted: UInt64
        /// Until the request head is whole, the head timeout; then the exchange's.
        var deadline: UInt64 { accepted + (response == nil ? MetricsServer.headTimeoutNanoseconds : MetricsServer.timeoutNanoseconds) }
    }

    private func serve() {
        var clients: [Client] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var fds: [pollfd] = []
        while !stopping.load(ordering: .acquiring) {
            fds.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0))
            for c in clients { fds.append(pollfd(fd: c.fd, events: Int16(c.response == nil ? POLLIN : POLLOUT), revents: 0)) }
            let n = poll(&fds, nfds_t(fds.count), Self.pollMilliseconds)
            if n < 0 && errno != EINTR { break }
            let now = SystemClock.monotonicNanoseconds()
            for i in clients.indices.reversed() {
                let revents = Int32(fds[i + 1].revents)
                var done = false
                if revents & Int32(POLLIN) != 0 || revents & Int32(POLLHUP | POLLERR) != 0 && clients[i].response == nil {
                    done = receive(&clients[i], chunk: &chunk)
                }
                if !done && clients[i].response != nil { done = send(&clients[i]) }
                if !done && now >= clients[i].deadline { done = true }  // slow or stalled: dropped
                if done {
                    Glibc.close(clients[i].fd)
                    clients.remove(at: i)
                }
            }
            if fds[0].revents & Int16(POLLIN) != 0 { accept(into: &clients, now: now, chunk: &chunk) }
        }
        for c in clients { Glibc.close(c.fd) }
    }

    /// Accepts what is waiting. Past `maxClients`, the oldest client without a whole request is
    /// closed to make room; when every slot is answering, the new one gets 503 and is closed.
    /// A new client's request, often there already, is read at once.
    private func accept(into clients: inout [Client], now: UInt64, chunk: inout [UInt8]) {
        for _ in 0..<256 {
            let fd = Glibc.accept(listener, nil, nil)
            if fd < 0 { return }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            if clients.count >= Self.maxClients {
                // Clients are in accept order: the first still reading is the oldest idle one.
                guard let idle = clients.firstIndex(where: { $0.response == nil }) else {
                    MetricsHTTP.busy.withUnsafeBytes { _ = Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    Glibc.close(fd)
                    continue
                }
                Glibc.close(clients[idle].fd)
                clients.remove(at: idle)
            }
            var client = Client(fd: fd, accepted: now)
            if receive(&client, chunk: &chunk) || client.response != nil && send(&client) {
                Glibc.close(fd)
                continue
            }
            clients.append(client)
        }
    }

    /// Reads what arrived; true when the client is done with (closed, failed).
    private func receive(_ c: inout Client, chunk: inout [UInt8]) -> Bool {
        let n = chunk.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
        if n == 0 { return true }
        if n < 0 { return errno != EAGAIN && errno != EINTR }
        c.received.append(contentsOf: chunk[0..<n])
        if case .respond(let bytes) = MetricsHTTP.progress(c.received, page: exchange.render) {
            c.response = bytes
            c.received = []
        }
        return false
    }

    /// Sends what it can; true when all is sent (or the client is gone).
    private func send(_ c: inout Client) -> Bool {
        guard let response = c.response else { return false }
        while c.sent < response.count {
            let n = response.withUnsafeBytes { b in
                Glibc.send(c.fd, b.baseAddress! + c.sent, b.count - c.sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 { return errno != EAGAIN && errno != EINTR }
            c.sent += n
        }
        shutdown(c.fd, Int32(SHUT_WR))
        return true
    }

    static func withSockaddr<R>(_ a: MetricsAddress, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        switch a.host {
        case .v4(let v):
            var s = sockaddr_in()
            s.sin_family = sa_family_t(AF_INET)
            s.sin_port = a.port.bigEndian
            s.sin_addr.s_addr = v.bigEndian
            return withUnsafePointer(to: &s) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        case .v6(let high, let low):
            var s = sockaddr_in6()
            s.sin6_family = sa_family_t(AF_INET6)
            s.sin6_port = a.port.bigEndian
            withUnsafeMutableBytes(of: &s.sin6_addr) { b in
                b.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
                b.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            return withUnsafePointer(to: &s) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        }
    }
}
