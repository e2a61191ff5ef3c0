/// The process that owns a socket: the one that connected or listened (or, for an accepted
/// socket, its listener's), captured in process context by the kernel program; or, for a
/// lingerer, the process /proc shows holding it.
public struct Owner: Hashable, Sendable, FieldGroup {
    public var pid: UInt32
    public var comm: CommName
    public init(pid: UInt32, comm: CommName) {
        self.pid = pid
        self.comm = comm
    }
    public init() { self.init(pid: 0, comm: CommName()) }

    @inlinable @inline(__always)
    public static func fields<V: FieldVisitor>(_ r: inout Owner, _ v: inout V) {
        v.field("pid", &r.pid, Integer<UInt32>.self, text: .plain, "process id (tgid)")
        v.field("comm", &r.comm, Comm.self, text: TextStyle(prefix: " (", suffix: ")"), "command name")
    }
}
