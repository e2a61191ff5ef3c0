import Foundation
import Glibc

/// A server in its own process that accepts and never closes: every client that closes leaves
/// a socket in CLOSE_WAIT. It prints its port, then each accepted fd.
public let leakyServer = """
    import socket, sys
    s = socket.socket()
    s.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    s.listen(128)
    print(s.getsockname()[1], flush=True)
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)
        print(c.fileno(), flush=True)
    """

public final class LeakyServer {
    public let process = Process()
    public let output = Pipe()
    public let port: UInt16

    /// `port` 0: an ephemeral one. A fixed port lets a tracer filtering on it start first and
    /// see the listen (and so the owner every accepted socket inherits).
    public init(port fixedPort: UInt16 = 0) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", leakyServer] + (fixedPort == 0 ? [] : [String(fixedPort)])
        process.standardOutput = output
        try process.run()
        port = UInt16(try LeakyServer.readLine(output).trimmingCharacters(in: .whitespaces)) ?? 0
    }

    deinit {
        // SIGKILL: Foundation starts children with SIGTERM blocked.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    public var pid: UInt32 { UInt32(process.processIdentifier) }

    /// Connects, sends `bytes`, waits until the server has accepted, then closes first.
    public func leakOne(bytes: Int = 0) throws {
        let c = try Loopback.connect(.v4, port: port)
        Loopback.send(c, count: bytes)
        _ = try LeakyServer.readLine(output)  // the server accepted (it printed the fd)
        close(c)
    }

    public static func readLine(_ pipe: Pipe) throws -> String {
        var line = Data()
        while true {
            let byte = pipe.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        return String(decoding: line, as: UTF8.self)
    }

    /// The fd under which /proc shows this process holding socket `inode` (what ss -p shows).
    public func fd(holding inode: Int) -> Int? {
        let dir = "/proc/\(pid)/fd"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            if (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/\(name)")) == "socket:[\(inode)]" {
                return Int(name)
            }
        }
        return nil
    }
}
