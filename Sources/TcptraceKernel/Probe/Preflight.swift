import TcptraceHost
import CLibbpf
import Glibc

/// Checks, before anything is loaded, that this host and this process can run the tracer,
/// so the user gets the real reason in one line instead of a verifier dump.
public enum Preflight {
    public static let kernelBTFPath = "/sys/kernel/btf/vmlinux"
    /// The BTF typedef the kernel defines for every BTF-enabled tracepoint; tp_btf needs it.
    public static let tracepointType = "btf_trace_inet_sock_set_state"

    /// What a run needs, checked by capability (not by uid: root in a container may lack them,
    /// a plain user may hold them): CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN, to load and
    /// attach; CAP_SYS_ADMIN to enter other network namespaces for sock_diag (unless the run
    /// stays in its own, `otherNamespaces: false`); CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH to
    /// read other users' /proc/PID/fd and ns/net (who holds a CLOSE_WAIT socket, which namespace
    /// a process is in). sock_diag in the own namespace, cgroup walks and BPF maps already open
    /// need none. The error names the first capability missing. Returns the effective set.
    @discardableResult
    public static func checkPrivileges(otherNamespaces: Bool = true, statusPath: String = "/proc/self/status") throws(SystemError)
        -> Capabilities
    {
        guard let raw = effectiveCapabilities(statusPath: statusPath) else {
            throw .notPermitted("cannot read the capabilities of this process from \(statusPath)")
        }
        let have = Capabilities(rawValue: raw)
        if let missing = missingCapability(have: have, otherNamespaces: otherNamespaces) { throw .notPermitted(missing) }
        return have
    }

    /// The one-line reason a process with `have` cannot run, or nil.
    static func missingCapability(have: Capabilities, otherNamespaces: Bool) -> String? {
        let load: Capabilities = [.bpf, .perfmon]
        if !have.contains(.sysAdmin) && !have.isSuperset(of: load) {
            return "missing \(load.subtracting(have)): needed to load and attach the BPF program (run as root, or grant CAP_BPF and CAP_PERFMON)"
        }
        if otherNamespaces && !have.contains(.sysAdmin) {
            return "missing CAP_SYS_ADMIN: needed to enter other network namespaces (setns) for sock_diag; --netns host stays in this one and does without"
        }
        for c in [Capabilities.sysPtrace, .dacReadSearch] where !have.contains(c) {
            return "missing \(c): needed to read other users' /proc/PID/fd and ns/net (the process holding a CLOSE_WAIT socket)"
        }
        return nil
    }

    /// The kernel's BTF exists and defines the tracepoint for tp_btf.
    public static func checkKernel(btfPath: String = kernelBTFPath) throws(SystemError) {
        guard access(btfPath, R_OK) == 0 else {
            throw .kernelUnsupported(
                "kernel BTF not found at \(btfPath): tcptrace-bpf needs Linux >= 5.12 built with CONFIG_DEBUG_INFO_BTF=y")
        }
        guard let btf = btf__parse(btfPath, nil) else {
            throw .kernelUnsupported("cannot parse kernel BTF at \(btfPath): \(String(cString: strerror(errno)))")
        }
        defer { btf__free(btf) }
        if btf__find_by_name_kind(btf, tracepointType, BTFKind.typedef) < 0 {
            throw .kernelUnsupported(
                "the kernel has no BTF for tracepoint sock:inet_sock_set_state (tp_btf): tcptrace-bpf needs Linux >= 5.12")
        }
    }

    static func effectiveCapabilities(statusPath: String) -> UInt64? {
        guard let f = fopen(statusPath, "r") else { return nil }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), f) != nil {
            let s = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if s.hasPrefix("CapEff:") {
                return UInt64(s.dropFirst(7).filter { !$0.isWhitespace }, radix: 16)
            }
        }
        return nil
    }
}
