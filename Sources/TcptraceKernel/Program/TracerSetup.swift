import CLibbpf
import CTcptraceProgram
import Glibc
import TcptraceCore
import TcptraceHost

/// Setting up the program before it loads: .rodata settings, and attaching it.
extension Tracer {
    /// Sizes the ring and writes the settings into .rodata: the object is opened, not loaded
    /// (no privileges needed).
    static func applySettings(_ c: Configuration, to object: OpaquePointer) throws(SystemError) {
        let events = try ProgramInterface.Map.events.find(in: object)
        try check("bpf_map__set_max_entries(events)", bpf_map__set_max_entries(events, UInt32(c.ringBufferBytes)))
        var rodata = try ReadOnlyData(object: object)
        let f = c.filter
        try rodata.set(\.filterFamily, f.family == .ipv4 ? 4 : f.family == .ipv6 ? 6 : 0)
        try rodata.set(\.filterOwnerPID, f.ownerPID ?? 0)
        if let comm = f.ownerComm {
            try rodata.set(\.filterCommSet, 1)
            try rodata.set(\.filterComm, Array(comm.utf8.prefix(Int(TCPTRACE_COMM_LEN) - 1)))
        }
        let portLists: [(KeyPath<ProgramInterface.Globals, ProgramInterface.GlobalArray<UInt16>>, KeyPath<ProgramInterface.Globals, ProgramInterface.Global<UInt32>>, [UInt16])] = [
            (\.ports, \.portCount, f.ports), (\.localPorts, \.localPortCount, f.localPorts), (\.remotePorts, \.remotePortCount, f.remotePorts),
        ]
        for (list, count, ports) in portLists {
            try rodata.set(count, UInt32(ports.count))
            try rodata.set(list, ports)
        }
        // 0 means "any" to the program: no namespace or cgroup has it, so it is refused, not widened.
        if f.netns == 0 { throw .call("filtering on network namespace 0", errno: EINVAL) }
        if f.cgroupSubtree?.id == 0 { throw .call("filtering on cgroup 0", errno: EINVAL) }
        try rodata.set(\.filterNetns, f.netns ?? 0)
        try rodata.set(\.filterCgroupID, f.cgroupSubtree?.id ?? 0)
        try rodata.set(\.filterCgroupLevel, f.cgroupSubtree?.level ?? 0)
        try rodata.set(\.wakeupBytes, c.wakeupBytes ?? c.ringBufferBytes / 4)
        try rodata.set(\.taskStackBytes, taskStackBytes())
        try rodata.set(\.plainAdds, skipsNestedPrograms(release: kernelRelease()) ? 1 : 0)
        try rodata.set(\.aggregate, c.aggregate ? 1 : 0)
        if let skip = c.testSkip {
            try rodata.set(\.testSkipRemotePort, skip.remotePort)
            try rodata.set(\.testSkipOld, skip.old.rawValue)
            try rodata.set(\.testSkipNew, skip.new.rawValue)
            try rodata.set(\.testSkipDestroy, skip.destroy ? 1 : 0)
        }
        try rodata.set(\.captureStacks, c.captureStacks ? 1 : 0)
        try rodata.commit()
    }

    /// THREAD_SIZE: 16 KiB on x86-64 and arm64, or a page if larger; KASAN doubles it on both.
    /// A KASAN kernel is told by `kasan_check_range` among the names in its BTF.
    static func taskStackBytes(btfPath: String = "/sys/kernel/btf/vmlinux") -> UInt64 {
        let base = UInt64(max(16384, sysconf(Int32(_SC_PAGESIZE))))
        return kernelNames(btfPath, contain: "kasan_check_range") ? base * 2 : base
    }

    /// Whether `name` is one of the NUL-terminated strings in the file (BTF's string section).
    static func kernelNames(_ path: String, contain name: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return false }
        defer { close(fd) }
        let needle = [0] + Array(name.utf8) + [0]
        var window: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            // Keep the tail of the previous chunk so a match across the boundary is found.
            window = Array(window.suffix(needle.count - 1)) + chunk[..<n]
            if contains(window, needle) { return true }
        }
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return false }
        return haystack.withUnsafeBufferPointer { h in
            var i = 0
            while i <= h.count - needle.count {
                if h[i] == first && h[i + 1] == needle[1] && h[i..<(i + needle.count)].elementsEqual(needle) { return true }
                i += 1
            }
            return false
        }
    }

    /// The iterator link of `sum_held` (TCP sockets): made at start, while the process has its
    /// privileges; an iterator file made from it in a namespace runs the program over that
    /// namespace's sockets.
    static func attachHeldIterator(_ object: OpaquePointer) throws(SystemError) -> OpaquePointer {
        let program = try ProgramInterface.Program.heldSum.find(in: object)
        guard let link = bpf_program__attach_iter(program, nil) else { throw .call("bpf_program__attach_iter(sum_held)", errno: errno) }
        return link
    }

    static func attach(_ program: OpaquePointer) throws(SystemError) -> OpaquePointer {
        guard let link = bpf_program__attach(program) else {
            let e = errno
            throw e == EPERM || e == EACCES
                ? SystemError.notPermitted(
                    "attaching to tracepoint sock:inet_sock_set_state was refused: \(String(cString: strerror(e)))")
                : SystemError.kernelUnsupported(
                    "cannot attach tp_btf/inet_sock_set_state: \(String(cString: strerror(e))) (needs Linux >= 5.12 with BTF)")
        }
        return link
    }

    /// Whether the kernel skips a tracing program on a CPU where it is already running (Linux
    /// 6.1 and later; `release` as uname(2) gives it): the program's counters can then take
    /// plain adds (see count_n). Unknown releases say no (atomic adds: always right).
    static func skipsNestedPrograms(release: String) -> Bool {
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard parts.count == 2, release.first?.isNumber == true else { return false }
        return (parts[0], parts[1]) >= (6, 1)
    }
}
