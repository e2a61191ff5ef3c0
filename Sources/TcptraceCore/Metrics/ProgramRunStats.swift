/// A BPF program's run statistics (bpf_prog_info): non-zero only while
/// `kernel.bpf_stats_enabled` is 1.
public struct ProgramRunStats: Hashable, Sendable {
    public var program: String
    public var runNanoseconds: UInt64
    public var runs: UInt64
    public init(program: String, runNanoseconds: UInt64, runs: UInt64) {
        self.program = program
        self.runNanoseconds = runNanoseconds
        self.runs = runs
    }
}
