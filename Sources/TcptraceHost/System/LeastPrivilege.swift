import CTcptraceHost
import Glibc

/// Gives up, once the privileged setup is done, every capability the rest of the run does not use.
public enum LeastPrivilege {
    public struct Outcome: Sendable {
        /// Effective and permitted from now on.
        public var kept: Capabilities
        /// The bounding set after: cut to `kept` when the process had CAP_SETPCAP.
        public var bounding: Capabilities
    }

    /// Keeps `needed` (those of it the process has) and drops everything else from the
    /// effective, permitted and inheritable sets, the ambient set, and (with CAP_SETPCAP) the
    /// bounding set; then sets no_new_privs, so no exec can gain privileges again.
    /// `conditional` is kept only if `works` fails with the effective set already cut to
    /// `needed`: for the kernels where reading BPF maps by fd still takes CAP_BPF.
    /// Only the calling thread's sets change (capabilities are per thread): call it while the
    /// process has one thread; threads made later inherit the reduced sets.
    public static func reduce(
        keeping needed: Capabilities, conditional: Capabilities = [], ifFailingWithout works: () -> Bool = { true }
    ) throws(SystemError) -> Outcome {
        let start = try Capabilities.current()
        var kept = start.permitted.intersection(needed)
        let optional = start.permitted.intersection(conditional).subtracting(kept)
        if !optional.isEmpty {
            try Capabilities.set(.init(effective: kept, permitted: start.permitted, inheritable: start.inheritable))
            let fine = works()
            try Capabilities.set(start)
            if !fine { kept.formUnion(optional) }
        }
        // The bounding set first: dropping from it takes CAP_SETPCAP, which the capset below removes.
        let last = Capabilities.lastNumber
        if start.effective.contains(.setpcap) {
            for n in 0...last where !kept.contains(Capabilities(number: n)) && tcptrace_capbset_read(Int32(n)) > 0 {
                _ = tcptrace_capbset_drop(Int32(n))
            }
        }
        let bounding = (0...last).reduce(into: Capabilities()) { set, n in
            if tcptrace_capbset_read(Int32(n)) > 0 { set.insert(Capabilities(number: n)) }
        }
        _ = tcptrace_ambient_clear()
        try Capabilities.set(.init(effective: kept, permitted: kept, inheritable: []))
        let rc = tcptrace_set_no_new_privs()
        if rc < 0 { throw .call("prctl(PR_SET_NO_NEW_PRIVS)", errno: -rc) }
        return Outcome(kept: try Capabilities.current().permitted, bounding: bounding)
    }
}
