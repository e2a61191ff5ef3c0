import Foundation
import Glibc
import Testing
@testable import TcptraceHost

/// `OutputFile`: no file the tracer creates, truncates, reopens or replaces is reached through a
/// link planted at its name. (The same with a planted link by another user, in a sticky
/// world-writable directory, against the binary: HardeningTests.)
@Suite struct OutputFileTests {
    /// A scratch directory with a victim file outside the names the tracer writes.
    final class Scratch {
        let dir: String
        let victim: String
        init(_ name: String) {
            dir = "/tmp/harden-unit-\(getpid())-\(name)"
            mkdir(dir, 0o755)
            victim = "\(dir)/victim"
            FileManager.default.createFile(atPath: victim, contents: Data("secret\n".utf8))
        }
        deinit { try? FileManager.default.removeItem(atPath: dir) }
        var victimIntact: Bool { (try? String(contentsOfFile: victim, encoding: .utf8)) == "secret\n" }
        func plantLink(_ name: String) -> String {
            let path = "\(dir)/\(name)"
            symlink(victim, path)
            return path
        }
    }

    @Test func openRefusesASymbolicLinkAndAHardLink() throws {
        let s = Scratch("open")
        let link = s.plantLink("out.jsonl")
        for append in [false, true] {
            #expect(throws: OutputFile.OpenError.symbolicLink(path: link)) { _ = try OutputFile.open(link, append: append) }
        }
        let hard = "\(s.dir)/hard.jsonl"
        #expect(Glibc.link(s.victim, hard) == 0)
        #expect(throws: OutputFile.OpenError.hardLinked(path: hard, links: 2)) { _ = try OutputFile.open(hard, append: false) }
        #expect(s.victimIntact)
        // What the user names, they get: a new file, a file truncated, a FIFO, /dev/null.
        let file = "\(s.dir)/new.jsonl"
        _ = try OutputFile.open(file, append: false)
        try "old\n".write(toFile: file, atomically: false, encoding: .utf8)
        _ = try OutputFile.open(file, append: false)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "")
        _ = try OutputFile.open("/dev/null", append: false)
    }

    @Test func aFileThatOpensButTakesNoWriteIsRefusedAtOpen() {
        #expect {
            _ = try OutputFile.open("/proc/version", append: false)
        } throws: { error in
            // Root opens it and the empty write fails (EIO); anyone else cannot open it.
            switch error as? OutputFile.OpenError {
            case .unwritable(_, let e)?: return e.code == EIO
            case .failed(_, let e)?: return e.code == EACCES && geteuid() != 0
            default: return false
            }
        }
    }

    @Test func reopenRefusesALinkAFIFOAndAHardLinkWithoutBlocking() throws {
        let s = Scratch("reopen")
        let link = s.plantLink("out.jsonl")
        #expect(throws: OutputFile.OpenError.symbolicLink(path: link)) { _ = try OutputFile.reopen(link, mode: 0o600) }
        let fifo = "\(s.dir)/fifo.jsonl"
        #expect(mkfifo(fifo, 0o666) == 0)
        // No reader: a plain open for writing would wait for one forever.
        #expect(throws: OutputFile.OpenError.notRegular(path: fifo, kind: "FIFO")) { _ = try OutputFile.reopen(fifo, mode: 0o600) }
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        #expect(throws: OutputFile.OpenError.notRegular(path: fifo, kind: "FIFO")) { _ = try OutputFile.reopen(fifo, mode: 0o600) }
        let hard = "\(s.dir)/hard.jsonl"
        #expect(Glibc.link(s.victim, hard) == 0)
        #expect(throws: OutputFile.OpenError.hardLinked(path: hard, links: 2)) { _ = try OutputFile.reopen(hard, mode: 0o600) }
        #expect(s.victimIntact)
        // A missing file is created with the mode given, whatever the umask.
        let fresh = "\(s.dir)/fresh.jsonl"
        let file = try OutputFile.reopen(fresh, mode: 0o640)
        var st = stat()
        #expect(fstat(file.raw, &st) == 0 && fcntl(file.raw, F_GETFL) & O_NONBLOCK == 0, "writes block again")
    }

    @Test func replaceNeverWritesThroughALinkAndLeavesNoTemporary() throws {
        let s = Scratch("replace")
        let path = "\(s.dir)/t.prom"
        // Every name the old code would have used, and the path itself, planted.
        _ = s.plantLink("t.prom.\(getpid()).tmp")
        _ = s.plantLink("t.prom")
        let old = umask(0o077)
        defer { umask(old) }
        try OutputFile.replace(path, with: Array("page 1\n".utf8))
        try OutputFile.replace(path, with: Array("page 2\n".utf8))
        #expect(s.victimIntact)
        var st = stat()
        #expect(lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG && st.st_mode & 0o777 == 0o644, "a regular file the collector can read")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "page 2\n")
        let left = try FileManager.default.contentsOfDirectory(atPath: s.dir).sorted()
        #expect(left == ["t.prom", "t.prom.\(getpid()).tmp", "victim"], "no temporary of its own left: \(left)")
        #expect(OutputFile.randomName() != OutputFile.randomName() && OutputFile.randomName().count == 32)
    }
}
