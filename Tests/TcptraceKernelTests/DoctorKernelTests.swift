import Foundation
import Glibc
import Testing
import TcptraceCore
import TcptraceKernel

/// doctor on this host, as root: every check of what the tracer needs passes (it loads a probe
/// program), and it reports the real sysctls.
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct DoctorKernelTests {
    @Test func doctorReportsRunnableWithRealSysctls() throws {
        try KernelGate.check()
        let r = try Binary.run(["doctor", "--format", "json"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        let lines = jsonLines(r.stdout)
        let doc = try #require(lines.first)
        #expect(lines.count == 1 && doc["type"] as? String == "doctor")
        #expect(doc["runnable"] as? Bool == true)
        let checks = try #require(doc["checks"] as? [[String: Any]])
        let names = Set(checks.compactMap { $0["name"] as? String })
        #expect(names.isSuperset(of: ["privileges", "kernel BTF", "tracepoint", "tracefs", "tp_btf", "ring buffer", "sk_storage", "load"]))
        // Every variant a run can select was loaded (each mode, each kind of filter, opener
        // stacks, all at once).
        let variants = ProgramVariant.all().map { "load \($0.variantName)" }
        #expect(variants.count == 16 && names.isSuperset(of: variants), "\(names)")
        #expect(checks.allSatisfy { $0["status"] as? String != "fail" }, "\(checks)")
        let sysctls = try #require(doc["sysctls"] as? [String: Any])
        for name in TCPSysctls.names {
            let path = TCPSysctls.procPath(name)
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                #expect(sysctls[name] as? String == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(name)")
            } else {
                #expect(sysctls[name] is NSNull, "\(name) is absent here")
            }
        }
        let counters = try #require(doc["counters"] as? [String: Any])
        #expect(counters["TcpExtTCPTimeWaitOverflow"] is Int)
    }
}
