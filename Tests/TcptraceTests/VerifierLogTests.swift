import Glibc
import Testing
import TcptraceCore
@testable import TcptraceKernel
@testable import TcptraceHost

/// A verifier rejection is told from a permission problem by the log libbpf prints for it.
@Suite(.serialized) struct VerifierLogTests {
    /// What libbpf 1.1 printed on Debian's Linux 6.1 for the aggregated mode before its index was
    /// masked (the middle of the log cut).
    static let rejected = """
        libbpf: prog 'handle_set_state': -- BEGIN PROG LOAD LOG --
        reg type unsupported for arg#0 function handle_set_state#266
        0: R1=ctx(off=0,imm=0) R10=fp0
        ; int BPF_PROG(handle_set_state, struct sock *sk, int oldstate, int newstate)
        837: (bf) r3 = r1                     ; R1_w=map_value(off=0,ks=4,vs=176,umax=255)
        ; p->ts_ns[n] = now;
        838: (7b) *(u64 *)(r3 +64) = r2
        invalid access to map value, value_size=176 off=2104 size=8
        R3 max value is outside of the allowed memory range
        processed 1503 insns (limit 1000000) max_states_per_insn 4 total_states 84 peak_states 84 mark_read 21
        -- END PROG LOAD LOG --

        """

    @Test func theLogOfARejectedProgramIsParsed() throws {
        let r = try #require(LibbpfLog.parse(Self.rejected))
        #expect(r.program == "handle_set_state")
        #expect(r.lines.first == "reg type unsupported for arg#0 function handle_set_state#266")
        #expect(r.lines.last?.hasPrefix("processed 1503 insns") == true)
        #expect(LibbpfLog.parse("libbpf: prog 'handle_set_state': BPF program load failed: Permission denied\n") == nil)
    }

    @Test func theReasonIsWhatFollowsTheLastInstruction() throws {
        let r = try #require(LibbpfLog.parse(Self.rejected))
        #expect(
            LibbpfLog.reason(r.lines)
                == "invalid access to map value, value_size=176 off=2104 size=8; R3 max value is outside of the allowed memory range")
        #expect(LibbpfLog.reason(["processed 1 insns"]) == "no reason in its log")
        #expect(LibbpfLog.isInstruction("838: (7b) *(u64 *)(r3 +64) = r2"))
        #expect(!LibbpfLog.isInstruction("R3 max value is outside of the allowed memory range"))
    }

    /// EACCES with a verifier log is a rejection (its own exit status), naming the kernel, the
    /// program and the variant; EACCES without one stays a permission problem (77).
    @Test func aVerifierRejectionIsNotAPermissionProblem() {
        _ = LibbpfLog.take()
        LibbpfLog.receive(Self.rejected)
        let rejected = Tracer.loadError(EACCES, variant: "aggregated")
        #expect(rejected.exitStatus == .verifierRejected)
        #expect(rejected.exitStatus.rawValue == 70)
        #expect(rejected.description.hasPrefix("the kernel's verifier (Linux \(Tracer.kernelRelease())) rejected BPF program handle_set_state (aggregated): invalid access to map value"))
        #expect(rejected.description.hasSuffix("--verbose prints the end of its log"))

        let refused = Tracer.loadError(EACCES, variant: "transitions")
        #expect(refused.exitStatus == .noPermission)
        #expect(refused.description.contains("run as root or with CAP_BPF and CAP_PERFMON"))
    }

    @Test func everyModeAndFilterKindIsAVariant() {
        let names = ProgramVariant.all().map(\.variantName)
        #expect(names.count == 16)
        #expect(Set(names).count == names.count)
        #expect(names.first == "transitions")
        #expect(names.contains("aggregated, ports filter"))
        #expect(names.contains("transitions, opener stacks"))
        #expect(names.contains("aggregated, all filters, opener stacks"))
        #expect(ProgramVariant.all().filter(\.captureStacks).count == 4)
        var two = Tracer.Configuration()
        two.filter.family = .ipv6
        two.filter.netns = 5
        #expect(two.variantName == "transitions, family filter, netns filter")
    }
}
