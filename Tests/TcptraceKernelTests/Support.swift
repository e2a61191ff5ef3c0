import Foundation
import Glibc
import Testing
import TcptraceKernel
import TcptraceHost
import TcptraceCore

/// Kernel tests run as root on a kernel with BTF. Elsewhere they are skipped, unless
/// TCPTRACE_REQUIRE_KERNEL_TESTS=1 (CI), which turns the skip into a failure.
enum KernelGate {
    static var required: Bool { ProcessInfo.processInfo.environment["TCPTRACE_REQUIRE_KERNEL_TESTS"] == "1" }

    static var unavailableReason: String? {
        if geteuid() != 0 { return "not root" }
        if access(Preflight.kernelBTFPath, R_OK) != 0 { return "no kernel BTF" }
        return nil
    }

    static var enabled: Bool { required || unavailableReason == nil }

    /// Call first in every kernel test: fails loudly when the tests are required but cannot run.
    static func check() throws {
        if let reason = unavailableReason {
            Issue.record("kernel tests are required (TCPTRACE_REQUIRE_KERNEL_TESTS=1) but cannot run: \(reason)")
            throw CancellationError()
        }
    }
}

/// The real program, loaded in this process, collecting what it reports.
final class Collector {
    var transitions: [Transition] = []
    let tracer: Tracer

    init(filter: TraceFilter, ringBufferBytes: UInt64 = 1 << 20) throws {
        var c = Tracer.Configuration()
        c.filter = filter
        c.ringBufferBytes = ringBufferBytes
        let box = Box()
        tracer = try Tracer(configuration: c, clock: SystemClock.monotonicToWall()) { t in
            box.items.append(t)
            return true
        }
        self.box = box
    }

    private final class Box { var items: [Transition] = [] }
    private let box: Box

    /// Drains until `count` events arrived or `seconds` passed, then returns them all.
    @discardableResult
    func collect(atLeast count: Int = Int.max, seconds: Double = 2) throws -> [Transition] {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            try tracer.poll(timeoutMilliseconds: 20)
        } while box.items.count < count && Date() < deadline
        try tracer.drain()
        transitions = box.items
        return transitions
    }

    /// Cookie → the socket's transitions, in order.
    var sockets: [UInt64: [Transition]] { Dictionary(grouping: transitions, by: \.identity.cookie) }
}

func path(_ ts: [Transition]) -> [String] { ts.map { "\($0.old.name)->\($0.new.name)" } }

let clientPath = ["CLOSE->SYN_SENT", "SYN_SENT->ESTABLISHED", "ESTABLISHED->FIN_WAIT1", "FIN_WAIT1->FIN_WAIT2", "FIN_WAIT2->CLOSE"]
let serverPath = ["LISTEN->SYN_RECV", "SYN_RECV->ESTABLISHED", "ESTABLISHED->CLOSE_WAIT", "CLOSE_WAIT->LAST_ACK", "LAST_ACK->CLOSE"]
let listenerPath = ["CLOSE->LISTEN", "LISTEN->CLOSE"]

struct SocketError: Error, CustomStringConvertible {
    let op: String
    let errno: Int32
    var description: String { "\(op): \(String(cString: strerror(errno)))" }
}

/// Plain blocking sockets on 127.0.0.1 and ::1.
enum Loopback {
    enum Family { case v4, v6 }

    static func withAddress<R>(_ family: Family, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
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

    static func newSocket(_ family: Family) throws -> Int32 {
        let fd = socket(family == .v4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw SocketError(op: "socket", errno: errno) }
        return fd
    }

    /// A socket bound to a loopback port (0: an ephemeral one), not yet listening (no transition yet).
    static func bound(_ family: Family, port: UInt16 = 0) throws -> (fd: Int32, port: UInt16) {
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
    static func listening(_ family: Family, port: UInt16) throws -> Int32 {
        let fd = try bound(family, port: port).fd
        try listen(fd)
        return fd
    }

    static func listen(_ fd: Int32) throws {
        if Glibc.listen(fd, 1024) != 0 { throw SocketError(op: "listen", errno: errno) }
    }

    static func connect(_ family: Family, port: UInt16) throws -> Int32 {
        let fd = try newSocket(family)
        let rc = withAddress(family, port: port) { Glibc.connect(fd, $0, $1) }
        if rc != 0 {
            let e = errno
            close(fd)
            throw SocketError(op: "connect", errno: e)
        }
        return fd
    }

    static func accept(_ fd: Int32) throws -> Int32 {
        let c = Glibc.accept(fd, nil, nil)
        if c < 0 { throw SocketError(op: "accept", errno: errno) }
        return c
    }

    static func localPort(_ fd: Int32) -> UInt16 {
        var a = sockaddr_in6()
        var len = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return UInt16(bigEndian: a.sin6_port)  // sin_port and sin6_port share the offset
    }

    static func inode(_ fd: Int32) -> UInt64 {
        var st = stat()
        fstat(fd, &st)
        return UInt64(st.st_ino)
    }

    static func send(_ fd: Int32, count: Int) {
        let bytes = [UInt8](repeating: 0x61, count: count)
        var sent = 0
        while sent < count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Reads until the peer closes; returns the byte count.
    static func readToEOF(_ fd: Int32) -> Int {
        var buf = [UInt8](repeating: 0, count: 65536)
        var total = 0
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return total }
            total += n
        }
    }

    /// Accepts `count` connections on a thread; each is read to EOF, then closed.
    static func serve(_ listener: Int32, count: Int) -> DispatchSemaphore {
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

/// The tcptrace-bpf executable built next to this test bundle (`swift build` first).
enum Binary {
    static var path: String {
        // Another build of it (today's main, to see a new test fail there): TCPTRACE_TEST_BINARY.
        if let other = ProcessInfo.processInfo.environment["TCPTRACE_TEST_BINARY"], !other.isEmpty { return other }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("tcptrace-bpf").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("tcptrace-bpf").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the binary to completion (for quick error cases).
    static func run(_ args: [String], prefix: [String] = [], timeout: Double = 20) throws -> Result {
        let p = Process()
        let out = Pipe(), err = Pipe()
        if prefix.isEmpty {
            p.executableURL = URL(fileURLWithPath: path)
            p.arguments = args
        } else {
            p.executableURL = URL(fileURLWithPath: prefix[0])
            p.arguments = Array(prefix.dropFirst()) + [path] + args
        }
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes while it runs: a child that writes more than a pipe holds (--verbose:
        // libbpf's log is ~72 KB) would otherwise block on write and never exit.
        let outText = PipeDrain(out.fileHandleForReading), errText = PipeDrain(err.fileHandleForReading)
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: outText.text(), stderr: errText.text())
    }

    /// Everything a pipe delivers until EOF, read on a thread of its own.
    final class PipeDrain: @unchecked Sendable {
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)

        init(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                data = handle.readDataToEndOfFile()
                done.signal()
            }
        }

        func text() -> String {
            done.wait()
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// Starts the binary (through `prefix`, e.g. setpriv, which execs it) and returns once it
    /// says it is tracing (its banner on stderr).
    static func start(_ args: [String], stdout: Any? = nil, prefix: [String] = []) throws -> (Process, Pipe) {
        let p = Process()
        let err = Pipe()
        p.executableURL = URL(fileURLWithPath: prefix.first ?? path)
        p.arguments = prefix.isEmpty ? args : Array(prefix.dropFirst()) + [path] + args
        p.standardError = err
        if let stdout { p.standardOutput = stdout }
        try p.run()
        var seen = Data()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
            if String(decoding: seen, as: UTF8.self).contains("tracing TCP state transitions") { return (p, err) }
        }
        p.terminate()
        throw SocketError(op: "tcptrace-bpf did not start: \(String(decoding: seen, as: UTF8.self))", errno: 0)
    }
}

/// Parses JSON lines; fails the test on any line that is not a JSON object.
func jsonLines(_ text: String) -> [[String: Any]] {
    var out: [[String: Any]] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.isEmpty { continue }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            Issue.record("not a JSON object: \(line)")
            continue
        }
        out.append(obj)
    }
    return out
}
