import TcptraceCore

/// The program variants a run's options select. The .rodata settings are constants to the
/// verifier, which checks only the code they leave reachable: each mode and each kind of filter
/// is a program verified on its own, and one can load where another is rejected (Linux 6.1
/// rejected the aggregated mode while the default loaded).
public enum ProgramVariant {
    /// The kinds of filter, each a distinct path through the program.
    public enum FilterKind: String, CaseIterable, Sendable {
        case family, ports, owner, netns, cgroup

        /// A filter of this kind. The values do not matter to the verifier, only which settings
        /// are non-zero.
        func apply(to f: inout TraceFilter) {
            switch self {
            case .family: f.family = .ipv4
            case .ports: (f.ports, f.localPorts, f.remotePorts) = ([1], [2], [3])
            case .owner: (f.ownerPID, f.ownerComm) = (1, "doctor")
            case .netns: f.netns = 1
            case .cgroup: f.cgroupSubtree = CgroupSubtree(id: 1, level: 0)
            }
        }

        func isSet(in f: TraceFilter) -> Bool {
            switch self {
            case .family: f.family != nil
            case .ports: !(f.ports.isEmpty && f.localPorts.isEmpty && f.remotePorts.isEmpty)
            case .owner: f.ownerPID != nil || f.ownerComm != nil
            case .netns: f.netns != nil
            case .cgroup: f.cgroupSubtree != nil
            }
        }
    }

    /// Every variant `doctor` loads: per mode, no filter, each kind of filter alone, opener
    /// stacks alone (`--opener-stacks` makes the connect path take the user stack), and every
    /// filter with opener stacks at once.
    public static func all() -> [Tracer.Configuration] {
        var out: [Tracer.Configuration] = []
        for aggregate in [false, true] {
            var base = Tracer.Configuration()
            base.aggregate = aggregate
            base.ringBufferBytes = 1 << 16
            var every = base
            out.append(base)
            for kind in FilterKind.allCases {
                var c = base
                kind.apply(to: &c.filter)
                kind.apply(to: &every.filter)
                out.append(c)
            }
            var stacks = base
            stacks.captureStacks = true
            out.append(stacks)
            every.captureStacks = true
            out.append(every)
        }
        return out
    }
}

extension Tracer.Configuration {
    /// The variant these settings select, as `doctor` and errors name it: "transitions",
    /// "aggregated, ports filter", "transitions, opener stacks", "transitions, all filters, opener stacks".
    public var variantName: String {
        var parts = [aggregate ? "aggregated" : "transitions"]
        let kinds = ProgramVariant.FilterKind.allCases.filter { $0.isSet(in: filter) }
        if kinds.count == ProgramVariant.FilterKind.allCases.count {
            parts.append("all filters")
        } else {
            parts += kinds.map { "\($0.rawValue) filter" }
        }
        if captureStacks { parts.append("opener stacks") }
        return parts.joined(separator: ", ")
    }
}
