import CLibbpf
import CTcptraceProgram
import Glibc
import TcptraceHost

/// Where the application created a connection: the kernel program's `openers` and `stacks`
/// maps (bpf/opener.bpf.h), read only for the sockets that become CLOSE_WAIT lingerers.
extension Tracer {
    /// Frames kept per stack: a walk this deep may have been cut.
    public static let stackDepth = Int(TCPTRACE_STACK_DEPTH)

    /// A socket's opener: the process and the id of its user stack in `stacks`.
    public struct Opener: Hashable, Sendable {
        public var pid: UInt32
        /// Key in the stack map, or the negative errno bpf_get_stackid returned (no stack).
        public var stackID: Int32
        /// The first words at the user stack pointer (see struct tcptrace_opener).
        public var stackTop: [UInt64]
    }

    /// The opener of socket `cookie`, if the program saw it connect or be accepted (and the
    /// LRU map still holds it).
    public func opener(ofCookie cookie: UInt64) -> Opener? {
        var key = cookie
        var value = tcptrace_opener()
        guard bpf_map_lookup_elem(openersFD, &key, &value) == 0 else { return nil }
        let top = withUnsafeBytes(of: value.stack_top) { Array($0.bindMemory(to: UInt64.self)) }
        return Opener(pid: value.tgid, stackID: value.stack_id, stackTop: top)
    }

    /// The user-space return addresses of stack `id`, innermost first (trailing zeros cut).
    public func stackAddresses(_ id: Int32) -> [UInt64]? {
        guard id >= 0 else { return nil }
        var key = UInt32(id)
        var frames = [UInt64](repeating: 0, count: Int(TCPTRACE_STACK_DEPTH))
        guard bpf_map_lookup_elem(stacksFD, &key, &frames) == 0 else { return nil }
        if let end = frames.firstIndex(of: 0) { frames.removeSubrange(end...) }
        return frames
    }

    /// Attaches the accept() opener programs; a kernel without syscall tracepoints (or without
    /// tracefs mounted) gets none, and the reason.
    static func attachAcceptOpeners(_ object: OpaquePointer) -> (
        programs: [(ProgramInterface.Program, OpaquePointer)], links: [OpaquePointer], unavailable: String?
    ) {
        var programs: [(ProgramInterface.Program, OpaquePointer)] = []
        var links: [OpaquePointer] = []
        var failure: String?
        for p in [ProgramInterface.Program.acceptOpener, .acceptOpenerOld] {
            guard let program = try? p.find(in: object) else { continue }
            if let link = bpf_program__attach(program) {
                programs.append((p, program))
                links.append(link)
            } else {
                failure = String(cString: strerror(errno))
            }
        }
        guard let failure else { return (programs, links, nil) }
        for link in links.reversed() { bpf_link__destroy(link) }
        let tracefs = access("/sys/kernel/tracing/events/syscalls", F_OK) == 0 || access("/sys/kernel/debug/tracing/events/syscalls", F_OK) == 0
        return ([], [], "tracepoints syscalls:sys_exit_accept4/sys_exit_accept: \(failure)"
            + (tracefs ? "" : " (no syscall tracepoints: CONFIG_FTRACE_SYSCALLS off, or tracefs not mounted at /sys/kernel/tracing)"))
    }
}
