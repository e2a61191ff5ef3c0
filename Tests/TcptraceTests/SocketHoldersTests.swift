import Foundation
import Glibc
import Testing
@testable import TcptraceHost

/// `SocketHolders` over a /proc tree of its own: the cache follows the sockets open now.
@Suite struct SocketHoldersTests {
    /// A fake /proc: each pid with its comm, its ns/net and fds linking to `socket:[INODE]`.
    final class FakeProc {
        let root = "/tmp/harden-unit-\(getpid())-proc-\(UInt32.random(in: 0...UInt32.max))"
        init() { mkdir(root, 0o755) }
        deinit { try? FileManager.default.removeItem(atPath: root) }

        func process(_ pid: Int, comm: String) {
            let dir = "\(root)/\(pid)"
            try? FileManager.default.createDirectory(atPath: "\(dir)/fd", withIntermediateDirectories: true)
            try? FileManager.default.createDirectory(atPath: "\(dir)/ns", withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: "\(dir)/ns/net", contents: nil)
            try? "\(comm)\n".write(toFile: "\(dir)/comm", atomically: true, encoding: .utf8)
        }
        func open(_ pid: Int, fd: Int, inode: UInt64) { symlink("socket:[\(inode)]", "\(root)/\(pid)/fd/\(fd)") }
        func close(_ pid: Int, fd: Int) { unlink("\(root)/\(pid)/fd/\(fd)") }
    }

    @Test func aSocketClosedSinceTheLastScanIsForgotten() {
        let proc = FakeProc()
        proc.process(100, comm: "server")
        for i in 0..<50 { proc.open(100, fd: 10 + i, inode: 1000 + UInt64(i)) }
        let holders = SocketHolders(procRoot: proc.root)
        #expect(holders.holders(of: [1000])[1000]?.process.comm.description == "server")
        #expect(holders.cachedCount == 50)
        // Sockets come and go: the cache holds those open at the last scan, not every one seen.
        for round in 1...20 {
            for i in 0..<50 { proc.close(100, fd: 10 + i) }
            for i in 0..<50 { proc.open(100, fd: 10 + i, inode: 1000 + UInt64(round * 50 + i)) }
            #expect(holders.holders(of: [1000 + UInt64(round * 50)]).count == 1)
        }
        #expect(holders.cachedCount == 50, "\(holders.cachedCount) cached for 50 open sockets")
        #expect(holders.holders(of: [1000]).isEmpty, "a closed socket has no holder")
    }
}
