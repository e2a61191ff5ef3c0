import CLibbpf
import Glibc
import TcptraceCore
import TcptraceHost

/// What `doctor` checks on this host, in the order the tracer needs it. The decisive checks are
/// the last: loading and attaching the embedded program exercises tp_btf, the ring buffer and
/// sk_storage exactly as a run does, and every other variant the options can select is loaded
/// too (the verifier checks each on its own).
public enum HostProbe {
    public struct Findings {
        public var checks: [DoctorReport.Check] = []
        /// What the tracer would exit with, from the first failure: nil when it can run.
        public var failure: ExitStatus?

        mutating func fail(_ name: String, _ error: SystemError) {
            checks.append(.init(name: name, status: .fail, detail: error.description))
            if failure == nil { failure = error.exitStatus }
        }
    }

    public static func examine() -> Findings {
        typealias Check = DoctorReport.Check
        var findings = Findings()
        var out: [Check] = []
        var privileged = true
        do throws(SystemError) {
            let caps = try Preflight.checkPrivileges()
            out.append(Check(name: "privileges", status: .ok, detail: geteuid() == 0 ? "root" : "capabilities \(caps)"))
        } catch {
            privileged = false
            out.append(Check(name: "privileges", status: .fail, detail: error.description))
            findings.failure = error.exitStatus
        }
        var btf = true
        if access(Preflight.kernelBTFPath, R_OK) == 0 {
            out.append(Check(name: "kernel BTF", status: .ok, detail: Preflight.kernelBTFPath))
        } else {
            btf = false
            out.append(
                Check(
                    name: "kernel BTF", status: .fail,
                    detail: "\(Preflight.kernelBTFPath) missing: needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (Linux >= 5.12)"))
        }
        if btf {
            do throws(SystemError) {
                try Preflight.checkKernel()
                out.append(Check(name: "tracepoint", status: .ok, detail: "BTF typedef \(Preflight.tracepointType) found"))
            } catch {
                btf = false
                out.append(Check(name: "tracepoint", status: .fail, detail: error.description))
            }
        } else {
            out.append(Check(name: "tracepoint", status: .fail, detail: "cannot look for \(Preflight.tracepointType) without kernel BTF"))
        }
        out.append(tracefs())

        // Map probes need the bpf() syscall, hence privileges. libbpf cannot probe tp_btf on its
        // own (a tracing program needs a BTF attach target): the load below is that check.
        let probes: [(String, () -> Int32, String)] = [
            ("ring buffer", { libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nil) }, "BPF_MAP_TYPE_RINGBUF (Linux >= 5.8)"),
            ("sk_storage", { libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SK_STORAGE, nil) }, "BPF_MAP_TYPE_SK_STORAGE (Linux >= 5.2)"),
        ]
        for (name, probe, what) in probes {
            guard privileged else {
                out.append(Check(name: name, status: .fail, detail: "not probed: needs the privileges above"))
                continue
            }
            let rc = probe()
            out.append(
                rc == 1
                    ? Check(name: name, status: .ok, detail: "\(what) supported")
                    : Check(
                        name: name, status: .fail,
                        detail: rc == 0 ? "\(what) not supported by this kernel" : "probe failed: \(String(cString: strerror(-rc)))"))
        }

        findings.checks = out
        if privileged && btf {
            do throws(SystemError) {
                var c = Tracer.Configuration()
                c.ringBufferBytes = 1 << 16
                c.countSkips = .ifAvailable
                let tracer = try Tracer(configuration: c, clock: SystemClock.monotonicToWall()) { _ in true }
                tracer.detach()
                findings.checks.append(Check(name: "tp_btf", status: .ok, detail: "attached to tp_btf/inet_sock_set_state"))
                findings.checks.append(
                    tracer.skipCountingUnavailable.map {
                        Check(name: "skip counter", status: .info, detail: "lost.unseen will count gaps only (a lower bound): \($0)")
                    } ?? Check(
                        name: "skip counter", status: .ok,
                        detail: "perf's counting event on sock:inet_sock_set_state opens: every hit the kernel runs no program for is counted"))
                findings.checks.append(
                    Check(
                        name: "load", status: .ok,
                        detail: "the embedded program loaded and attached (its ring buffer and sk_storage maps created), then was removed"))
            } catch {
                findings.checks.append(Check(name: "tp_btf", status: .fail, detail: "the embedded program did not load or attach"))
                findings.fail("load", error)
            }
            // What a run with each mode and kind of filter would load (the default among them).
            for variant in ProgramVariant.all() {
                let name = "load \(variant.variantName)"
                do throws(SystemError) {
                    try Tracer.load(variant)
                    findings.checks.append(Check(name: name, status: .ok, detail: "loaded, then removed"))
                } catch {
                    findings.fail(name, error)
                }
            }
        } else {
            for name in ["tp_btf", "load"] {
                findings.checks.append(Check(name: name, status: .fail, detail: "not attempted: fix the failures above first"))
            }
        }
        if findings.failure == nil && findings.checks.contains(where: { $0.status == .fail }) { findings.failure = .unavailable }
        return findings
    }

    /// tcptrace-bpf attaches by BTF id (tp_btf), not through tracefs: only informative. Two
    /// extras read tracepoint ids there: the skip counter and accept()'s opener stacks.
    static func tracefs() -> DoctorReport.Check {
        let mounts = Sysctl.readFile("/proc/self/mounts") ?? ""
        for line in mounts.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count >= 3 && f[2] == "tracefs" {
                return DoctorReport.Check(
                    name: "tracefs", status: .info,
                    detail: "mounted at \(f[1]); tracing does not need it (tp_btf attaches by BTF id), the skip counter and accept() opener stacks use it")
            }
        }
        return DoctorReport.Check(
            name: "tracefs", status: .info,
            detail: "not mounted; tracing does not need it (tp_btf attaches by BTF id); without it skipped hits are counted as gaps only and accept() has no opener stacks (mount -t tracefs tracefs /sys/kernel/tracing)")
    }
}
