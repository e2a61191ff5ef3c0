import TcptraceHost
import CLibbpf
import Glibc

/// Checks, before anything is loaded, that this host and this process can run the tracer,
/// so the user gets the real reason in one line instead of a verifier dump.
public enum Preflight {
    public static let kernelBTFPath = "/sys/kernel/btf/vmlinux"
    /// The BTF typedef the kernel defines for every BTF-enabled tracepoint; tp_btf needs it.
    public static let tracepointType = "btf_trace_inet_sock_set_state"

    /// Root, or CAP_BPF + CAP_PERFMON (Linux ≥ 5.8), or CAP_SYS_ADMIN.
    public static func checkPrivileges(statusPath: String = "/proc/self/status") throws(SystemError) {
        if geteuid() == 0 { return }
        let caps = effectiveCapabilities(statusPath: statusPath) ?? 0
        let sysAdmin: UInt64 = 1 << 21, perfmon: UInt64 = 1 << 38, bpf: UInt64 = 1 << 39
        if caps & sysAdmin != 0 || (caps & perfmon != 0 && caps & bpf != 0) { return }
        throw .notPermitted(
            "tcptrace-bpf must run as root (or with CAP_BPF and CAP_PERFMON) to load its BPF program")
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
