import Foundation
import Glibc
import Testing

public struct SocketError: Error, CustomStringConvertible {
    public let op: String
    public let errno: Int32
    public init(op: String, errno: Int32) {
        self.op = op
        self.errno = errno
    }
    public var description: String { "\(op): \(String(cString: strerror(errno)))" }
}

/// Plain blocking sockets on 127.0.0.1 and ::1.
public enum Loopback {
    public enum Family: Sendable { case v4, v6 }

    public static func withAddress<R>(_ family: Family, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        switch family {
        case .v4:
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            return withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .v6:
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            a.sin6_addr = in6addr_loopback
            return withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }

    public static func newSocket(_ family: Family) throws -> Int32 {
        let fd = socket(family == .v4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw SocketError(op: "socket", errno: errno) }
        return fd
    }

    /// A socket bound to a loopback port (0: an ephemeral one), not yet listening (no transition yet).
    public static func bound(_ family: Family, port: UInt16 = 0) throws -> (fd: Int32, port: UInt16) {
        let fd = try newSocket(family)
        if port != 0 {  // a fixed port may still have TIME_WAIT sockets from an earlier run
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let rc = withAddress(family, port: port) { bind(fd, $0, $1) }
        if rc != 0 {
            let e = errno
            close(fd)
            throw SocketError(op: "bind \(port)", errno: e)
        }
        return (fd, localPort(fd))
    }

    /// A listener on a fixed loopback port of a suite's range (SO_REUSEADDR: an earlier run's
    /// TIME_WAIT does not block it).
    public static func listening(_ family: Family, port: UInt16) throws -> Int32 {
        let fd = try bound(family, port: port).fd
        try listen(fd)
        return fd
    }

    public static func listen(_ fd: Int32) throws {
        if Glibc.listen(fd, 1024) != 0 { throw SocketError(op: "listen", errno: errno) }
    }

    public static func connect(_ family: Family, port: UInt16) throws -> Int32 {
        let fd = try newSocket(family)
        let rc = withAddress(family, port: port) { Glibc.connect(fd, $0, $1) }
        if rc != 0 {
            let e = errno
            close(fd)
            throw SocketError(op: "connect", errno: e)
        }
        return fd
    }

    /// Accepted sockets are close-on-exec too: a program another suite starts meanwhile (the
    /// tests run in parallel, in this one process) must not hold them open past their close().
    public static func accept(_ fd: Int32) throws -> Int32 {
        let c = accept4(fd, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
        if c < 0 { throw SocketError(op: "accept", errno: errno) }
        return c
    }

    public static func localPort(_ fd: Int32) -> UInt16 {
        var a = sockaddr_in6()
        var len = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return UInt16(bigEndian: a.sin6_port)  // sin_port and sin6_port share the offset
    }

    public static func inode(_ fd: Int32) -> UInt64 {
        var st = stat()
        fstat(fd, &st)
        return UInt64(st.st_ino)
    }

    public static func send(_ fd: Int32, count: Int) {
        let bytes = [UInt8](repeating: 0x61, count: count)
        var sent = 0
        while sent < count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Reads until the peer closes; returns the byte count.
    public static func readToEOF(_ fd: Int32) -> Int {
        var buf = [UInt8](repeating: 0, count: 65536)
        var total = 0
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return total }
            total += n
        }
    }

    /// One of each kind of connection on `listener` (bound to `port`), in this order: the
    /// client closes first and the server does not (CLOSE_WAIT: the server's socket is returned,
    /// for the caller to close), the client closes first and the server reads to EOF and closes
    /// (a short CLOSE_WAIT), the server closes first (TIME_WAIT on the client), a reset
    /// (SO_LINGER 0), and a connect to `refusedPort` (where nothing listens) refused.
    public static func everyKind(_ family: Family, listener: Int32, port: UInt16, refusedPort: UInt16) throws -> Int32 {
        let lc = try connect(family, port: port)
        let held = try accept(listener)
        send(lc, count: 7)
        close(lc)
        let c1 = try connect(family, port: port)
        let s1 = try accept(listener)
        send(c1, count: 5)
        close(c1)
        _ = readToEOF(s1)
        close(s1)
        let c2 = try connect(family, port: port)
        let s2 = try accept(listener)
        send(s2, count: 100)
        close(s2)
        _ = readToEOF(c2)
        close(c2)
        let c3 = try connect(family, port: port)
        let s3 = try accept(listener)
        var zero = linger(l_onoff: 1, l_linger: 0)
        setsockopt(c3, SOL_SOCKET, SO_LINGER, &zero, socklen_t(MemoryLayout<linger>.size))
        close(c3)
        usleep(20_000)
        close(s3)
        #expect(throws: SocketError.self) { _ = try connect(family, port: refusedPort) }
        return held
    }

    /// One IPv4 connection to a listener of its own, closed by the client first, then the
    /// listener closed: traffic for a test where any TCP hits will do. Returns the port.
    @discardableResult
    public static func oneConnection() throws -> UInt16 {
        let (listener, port) = try bound(.v4)
        defer { close(listener) }
        try listen(listener)
        let served = serve(listener, count: 1)
        close(try connect(.v4, port: port))
        served.wait()
        return port
    }

    /// Accepts `count` connections on a thread; each is read to EOF, then closed.
    public static func serve(_ listener: Int32, count: Int) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            for _ in 0..<count {
                guard let c = try? accept(listener) else { break }
                _ = readToEOF(c)
                close(c)
            }
            done.signal()
        }
        return done
    }
}

// Glibc's module map hides these (_GNU_SOURCE); they are plain libc symbols.
@_silgen_name("accept4")
func accept4(_ fd: Int32, _ addr: UnsafeMutablePointer<sockaddr>?, _ len: UnsafeMutablePointer<socklen_t>?, _ flags: Int32) -> Int32
/// posix_spawn_file_actions_addclosefrom_np(3) (glibc 2.34): the child closes every descriptor
/// from `from` on, whatever this process opened without O_CLOEXEC.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
public func posixSpawnFileActionsAddCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32
