import Foundation
import Glibc
import Testing
import TcptraceCore

/// What the binary refuses before it loads anything (issue 18): links planted where root writes,
/// a --netns that is not a network namespace, an output that takes no write, a privileged
/// metrics port, negative numbers. The rest, where the tracer runs: HardeningTests.
@Suite struct HardeningExitTests {
    @Test func outputAppendAndHTMLRefuseAPlantedLink() throws {
        let shared = try SharedDirectory("output")
        try shared.plantLink("out.jsonl")
        try shared.plantLink("page.html")
        for extra in [[], ["--append"]] {
            let r = try Binary.run(["--format", "json", "--output", shared.dir + "/out.jsonl", "--duration", "1s"] + extra)
            #expect(r.status == ExitStatus.cannotCreate.rawValue, "\(extra): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("out.jsonl: a symbolic link, refused") && !r.stderr.contains("tracing TCP"), "\(r.stderr)")
        }
        let report = try Binary.run(["report", "--html", shared.dir + "/page.html", "/dev/null"])
        #expect(report.status == ExitStatus.cannotCreate.rawValue, "\(report.status) \(report.stderr)")
        #expect(report.stderr.contains("page.html: a symbolic link, refused"), "\(report.stderr)")
        // A hard link (which fs.protected_hardlinks=0 would let anyone make): refused too.
        try #require(link(shared.victim, shared.dir + "/hard.jsonl") == 0)
        let hard = try Binary.run(["--output", shared.dir + "/hard.jsonl", "--duration", "1s"])
        #expect(hard.status == ExitStatus.cannotCreate.rawValue && hard.stderr.contains("2 hard links, refused"), "\(hard.stderr)")
        #expect(shared.victimIntact, "the root-only file was truncated through a planted link")
        // A regular file planted by another user, to be fed trace lines it can read and edit.
        try #require(try shared.asNobody("/usr/bin/touch", shared.dir + "/planted.jsonl") == 0)
        let planted = try Binary.run(["--output", shared.dir + "/planted.jsonl", "--duration", "1s"])
        #expect(planted.status == ExitStatus.cannotCreate.rawValue && planted.stderr.contains("owned by uid 65534"), "\(planted.stderr)")
    }

    @Test func netnsMustBeANetworkNamespace() throws {
        for (spec, says) in [
            ("/etc/passwd", "not a network namespace (a regular file)"), ("/proc/self/ns/mnt", "a namespace of another kind"),
            ("/tmp", "a directory"),
        ] {
            let r = try Binary.run(["--netns", spec, "--duration", "1s"])
            #expect(r.status == ExitStatus.usage.rawValue, "\(spec): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(says) && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        }
    }

    @Test func anOutputThatTakesNoWriteFailsBeforeLoading() throws {
        let r = try Binary.run(["--output", "/proc/version", "--duration", "1s"])
        #expect(r.status == ExitStatus.cannotCreate.rawValue, "\(r.status) \(r.stderr)")
        // Root opens it and the empty write fails; anyone else cannot open it at all.
        let said = geteuid() == 0 ? "/proc/version: cannot be written" : "/proc/version: Permission denied"
        #expect(r.stderr.contains(said) && !r.stderr.contains("tracing TCP"), "\(r.stderr)")
    }

    @Test func aPrivilegedMetricsPortWithoutThePrivilegeIs77() throws {
        try Requirement.root("a run with every capability the tracer needs but CAP_NET_BIND_SERVICE")
        let r = try Binary.run(
            ["--metrics-address", "127.0.0.1:1", "--duration", "1s"],
            prefix: ["/usr/bin/setpriv", "--bounding-set=-net_bind_service", "--inh-caps=-net_bind_service"])
        #expect(r.status == ExitStatus.noPermission.rawValue, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("Permission denied") && r.stderr.contains("CAP_NET_BIND_SERVICE"), "\(r.stderr)")
    }

    @Test func aNegativeNumberIsNamed() throws {
        // The message itself, for every kind of value: CLITests.aNegativeNumberIsNamed.
        for args in [["--pid", "-5"], ["census", "--top", "-3"]] {
            let r = try Binary.run(args)
            #expect(r.status == ExitStatus.usage.rawValue)
            #expect(r.stderr.contains("\(args[args.count - 2]) \(args.last!): negative values are not accepted"), "\(r.stderr)")
        }
    }
}
