import Foundation
import Glibc
import Testing

/// A directory like /tmp (world-writable, sticky) and, beside it, a file only root may read or
/// write: what a link planted by another user would make a root tracer overwrite. Root only
/// (user nobody plants the links, through setpriv).
public final class SharedDirectory {
    public let root: String
    public let dir: String
    public let victim: String

    public init(_ name: String, file: StaticString = #fileID) throws {
        try Requirement.root("user nobody plants the links (setpriv) against a root-only file")
        root = tempPath(name, file: file)
        dir = root + "/shared"
        victim = root + "/victim"
        try? FileManager.default.removeItem(atPath: root)
        try #require(mkdir(root, 0o755) == 0 && mkdir(dir, 0o777) == 0 && chmod(dir, 0o1777) == 0)
        try #require(FileManager.default.createFile(atPath: victim, contents: Data("secret\n".utf8), attributes: [.posixPermissions: 0o600]))
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    public var victimIntact: Bool { (try? String(contentsOfFile: victim, encoding: .utf8)) == "secret\n" }

    /// Runs a command as user nobody (what any local user can do), to completion: its status.
    @discardableResult
    public func asNobody(_ command: String...) throws -> Int32 {
        try Command.run(Binary.asNobody + command).status
    }

    /// nobody plants a symbolic link at `name` in the shared directory, pointing at the victim.
    public func plantLink(_ name: String) throws {
        try #require(try asNobody("/bin/ln", "-s", victim, "\(dir)/\(name)") == 0)
        var st = stat()
        try #require(lstat("\(dir)/\(name)", &st) == 0 && st.st_uid == 65534)
    }
}
