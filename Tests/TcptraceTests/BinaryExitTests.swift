import Foundation
import Glibc
import Testing
import TcptraceCore

/// Exit codes and one-line errors the binary gives before it loads anything: any user. A test
/// that needs an unprivileged run gets one as nobody when it runs as root.
@Suite struct BinaryExitTests {
    /// As root: setpriv's prefix that runs the binary as nobody, with no capabilities.
    var unprivileged: [String] { geteuid() == 0 ? Binary.asNobody + ["--inh-caps=-all"] : [] }

    @Test func unwritableOutputExits73() throws {
        let r = try Binary.run(["--output", "/nonexistent-dir/out.jsonl"])
        #expect(r.status == ExitStatus.cannotCreate.rawValue)
        #expect(r.stderr.contains("cannot write output file /nonexistent-dir/out.jsonl"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func badFlagExits64() throws {
        let r = try Binary.run(["--port", "99999"])
        #expect(r.status == ExitStatus.usage.rawValue)
        #expect(r.stderr.contains("invalid port"))
        #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
    }

    @Test func notRootExits77() throws {
        let r = try Binary.run([], prefix: unprivileged)
        #expect(r.status == ExitStatus.noPermission.rawValue, "\(r.stderr)")
        #expect(r.stderr.contains("missing CAP_PERFMON CAP_BPF: needed to load and attach the BPF program"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    /// Without privileges the tracer cannot run: doctor says why and exits 77; the census still works.
    @Test func doctorTextFailsWithoutPrivileges() throws {
        let r = try Binary.run(["doctor"], prefix: unprivileged)
        #expect(r.status == ExitStatus.noPermission.rawValue, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("cannot run") && r.stdout.contains("[FAIL] privileges"))
        #expect(r.stdout.contains("[ ok ] sock_diag"))
    }

    /// `diagnose` is a monitoring plugin: when it cannot watch, it says why in one line and
    /// exits 3 (UNKNOWN), not a code of the tracer's own: an unwritable page, and no privileges.
    @Test func diagnoseThatCannotWatchIsUnknown() throws {
        let page = try Binary.run(["diagnose", "--duration", "1s", "--html", "/nonexistent-dir/page.html"])
        #expect(page.status == 3, "\(page.stderr)")
        #expect(page.stderr.contains("cannot write output file /nonexistent-dir/page.html"))
        #expect(page.stderr.split(separator: "\n").count == 1, "one line: \(page.stderr)")
        let denied = try Binary.run(["diagnose", "--duration", "1s"], prefix: unprivileged)
        #expect(denied.status == 3, "\(denied.stderr)")
        #expect(denied.stderr.contains("missing CAP_PERFMON CAP_BPF"), "\(denied.stderr)")
        #expect(denied.stdout.isEmpty)
    }
}
