import Foundation
import Glibc
import Testing

/// `make install` into a staging directory, and what the installed files must satisfy: the tools
/// that read them (groff, systemd-analyze, logrotate) accept them. Needs no root and no kernel:
/// the binary `swift build` made (`Binary.path`) is installed, and the man page and completions
/// are generated from it. A tool that is missing skips its test, saying which.
@Suite(.serialized) struct InstallTests {
    static let repository = repositoryRoot

    /// Runs a program to its end: status and both outputs.
    @discardableResult
    func run(_ argv: [String], environment: [String: String] = [:], in directory: String? = nil) throws -> (status: Int32, out: String, err: String) {
        let r = try Command.run(argv, environment: environment, in: directory)
        return (r.status, r.stdout, r.stderr)
    }

    func files(under root: String) -> Set<String> {
        var out = Set<String>()
        let e = FileManager.default.enumerator(atPath: root)
        while let f = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(root)/\(f)", isDirectory: &isDir), !isDir.boolValue { out.insert("/" + f) }
        }
        return out
    }

    func staged(_ body: (String) throws -> Void) throws {
        try Requirement.program("make", package: "make")
        let root = tempPath("install-\(UInt32.random(in: 0...UInt32.max))")
        defer { _ = try? FileManager.default.removeItem(atPath: root) }
        let r = try run(["make", "-s", "install", "DESTDIR=\(root)", "PREFIX=/usr", "BIN=\(Binary.path)"], in: Self.repository)
        try #require(r.status == 0, "make install: \(r.err)")
        try body(root)
    }

    @Test func installLaysOutExactlyTheExpectedFiles() throws {
        try staged { root in
            #expect(
                files(under: root) == [
                    "/usr/bin/tcptrace-bpf", "/usr/share/man/man8/tcptrace-bpf.8",
                    "/usr/share/bash-completion/completions/tcptrace-bpf", "/usr/share/zsh/site-functions/_tcptrace-bpf",
                    "/usr/share/fish/vendor_completions.d/tcptrace-bpf.fish", "/usr/lib/systemd/system/tcptrace-bpf.service",
                    "/etc/logrotate.d/tcptrace-bpf", "/usr/share/tcptrace-bpf/prometheus/tcptrace-rules.yml",
                    "/usr/share/tcptrace-bpf/prometheus/tcptrace-rules.test.yml", "/usr/share/tcptrace-bpf/grafana/tcptrace-dashboard.json",
                ])
            #expect(access("\(root)/usr/bin/tcptrace-bpf", X_OK) == 0)
            #expect(FileManager.default.contentsEqual(atPath: "\(root)/usr/bin/tcptrace-bpf", andPath: Binary.path))
            for completion in [
                "usr/share/bash-completion/completions/tcptrace-bpf", "usr/share/zsh/site-functions/_tcptrace-bpf",
                "usr/share/fish/vendor_completions.d/tcptrace-bpf.fish",
            ] {
                let text = try String(contentsOfFile: "\(root)/\(completion)", encoding: .utf8)
                // Option names as each shell spells them: fish without the dashes.
                for word in ["census", "doctor", "report", "close-wait-threshold", "ring-buffer-size"] {
                    #expect(text.contains(word), "\(completion) offers \(word)")
                }
            }
            let unit = try String(contentsOfFile: "\(root)/usr/lib/systemd/system/tcptrace-bpf.service", encoding: .utf8)
            #expect(unit.contains("ExecStart=/usr/bin/tcptrace-bpf trace "), "the unit runs the installed binary")
            #expect(unit.range(of: "@[A-Z]+@", options: .regularExpression) == nil, "every template placeholder filled")
            // uninstall removes exactly what install put there.
            let u = try run(["make", "-s", "uninstall", "DESTDIR=\(root)", "PREFIX=/usr", "BIN=\(Binary.path)"], in: Self.repository)
            #expect(u.status == 0 && files(under: root).isEmpty, "\(u.err)")
        }
    }

    @Test func theInstalledAlertRulesPassPromtoolAndTheirUnitTests() throws {
        try staged { root in
            try Requirement.program("promtool", package: "prometheus")
            let dir = "\(root)/usr/share/tcptrace-bpf/prometheus"
            let check = try run(["promtool", "check", "rules", "\(dir)/tcptrace-rules.yml"])
            #expect(check.status == 0, "\(check.out)\(check.err)")
            #expect(check.out.contains("SUCCESS"), "\(check.out)")
            let test = try run(["promtool", "test", "rules", "tcptrace-rules.test.yml"], in: dir)
            #expect(test.status == 0, "\(test.out)\(test.err)")
            let dashboard = try Data(contentsOf: URL(fileURLWithPath: "\(root)/usr/share/tcptrace-bpf/grafana/tcptrace-dashboard.json"))
            let json = try JSONSerialization.jsonObject(with: dashboard) as? [String: Any]
            #expect((json?["panels"] as? [Any])?.isEmpty == false, "the dashboard has panels")
        }
    }

    @Test func theManPageRendersWithTheCommandsAndTheReadmeSections() throws {
        try staged { root in
            try Requirement.program("groff", package: "groff-base")
            let page = "\(root)/usr/share/man/man8/tcptrace-bpf.8"
            // -ww: every warning; -z: format without output. Silence is the pass.
            let check = try run(["groff", "-man", "-Tutf8", "-ww", "-z", page])
            #expect(check.status == 0 && check.err.isEmpty, "\(check.err)")
            let r = try run(["groff", "-man", "-Tascii", "-P", "-cbou", page])
            #expect(r.status == 0)
            for heading in ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "REQUIREMENTS", "EXIT STATUS", "RUNNING AS A SERVICE", "SEE ALSO"] {
                #expect(r.out.contains("\n\(heading)\n"), "section \(heading)")
            }
            // Every subcommand and every option of each, from the binary's own description.
            for word in ["census", "doctor", "report", "--close-wait-threshold", "--ring-buffer-size", "--top", "--reorder-window", "77"] {
                #expect(r.out.contains(word), "the page mentions \(word)")
            }
        }
    }

    @Test func systemdAcceptsTheUnit() throws {
        try Requirement.program("systemd-analyze", package: "systemd")
        try staged { root in
            // systemd-analyze checks that ExecStart exists and the Documentation= page opens: point
            // both at the staged copies. It exits 0 on unknown keys, so any output is a failure.
            let dir = "\(root)/verify"
            mkdir(dir, 0o755)
            let unit = try String(contentsOfFile: "\(root)/usr/lib/systemd/system/tcptrace-bpf.service", encoding: .utf8)
            try unit.replacingOccurrences(of: "/usr/bin/tcptrace-bpf", with: "\(root)/usr/bin/tcptrace-bpf")
                .write(toFile: "\(dir)/tcptrace-bpf.service", atomically: true, encoding: .utf8)
            let r = try run(["systemd-analyze", "verify", "\(dir)/tcptrace-bpf.service"], environment: ["MANPATH": "\(root)/usr/share/man"])
            #expect(r.status == 0 && r.err.isEmpty && r.out.isEmpty, "\(r.err)\(r.out)")
            for key in ["CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_SYS_NICE\n",
                        "ProtectSystem=strict\n", "NoNewPrivileges=yes\n", "Restart=on-failure\n", "ExecReload=/bin/kill -HUP $MAINPID\n"] {
                #expect(unit.contains(key), "\(key)")
            }
        }
    }

    /// `systemd-analyze security` (offline: no running systemd needed) rates the installed unit's
    /// exposure from 0 (locked down) to 10; the unit must stay at 2.5 or below.
    @Test func systemdRatesTheUnitsExposureAtMost2_5() throws {
        try Requirement.program("systemd-analyze", package: "systemd")
        try staged { root in
            let unit = "\(root)/usr/lib/systemd/system/tcptrace-bpf.service"
            let r = try run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit])
            let line = try #require(r.out.split(separator: "\n").first { $0.contains("Overall exposure level") }, "\(r.out)\(r.err)")
            let score = try #require(line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }, "\(line)")
            #expect(score <= 2.5, "\(line)")
        }
    }

    @Test func logrotateRotatesWithoutCreatingTheNewFile() throws {
        // Its path: logrotate is in /usr/sbin, which a plain user's PATH lacks.
        let logrotate = try Requirement.program("logrotate", package: "logrotate")
        try staged { root in
            let snippet = "\(root)/etc/logrotate.d/tcptrace-bpf"
            let debug = try run([logrotate, "-d", snippet])
            #expect(debug.status == 0 && !debug.err.contains("error"), "\(debug.err)")
            // The snippet as is, on a log of its own (the tracer is not running: the reload fails
            // quietly, as the postrotate allows).
            let logs = "\(root)/logs"
            mkdir(logs, 0o755)
            let text = try String(contentsOfFile: snippet, encoding: .utf8)
                .replacingOccurrences(of: "/var/log/tcptrace-bpf/events.jsonl", with: "\(logs)/events.jsonl")
            try text.write(toFile: "\(root)/rotate.conf", atomically: true, encoding: .utf8)
            try "{\"type\":\"summary\"}\n".write(toFile: "\(logs)/events.jsonl", atomically: true, encoding: .utf8)
            let r = try run([logrotate, "-f", "-s", "\(root)/state", "\(root)/rotate.conf"])
            #expect(r.status == 0, "\(r.err)")
            #expect(files(under: logs) == ["/events.jsonl.1"], "renamed, not compressed yet (delaycompress), no new file (the tracer makes it)")
        }
    }

    @Test func theDaemonSetHasWhatANodeTracerNeeds() throws {
        let path = "\(Self.repository)/deploy/kubernetes/daemonset.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for line in ["hostPID: true", "hostNetwork: true", "prometheus.io/scrape: \"true\"", "prometheus.io/port: \"9464\"",
                     "readOnlyRootFilesystem: true", "allowPrivilegeEscalation: false", "drop: [\"ALL\"]",
                     "add: [\"BPF\", \"PERFMON\", \"SYS_ADMIN\", \"SYS_PTRACE\", \"DAC_READ_SEARCH\", \"SYS_NICE\"]", "containerPort: 9464"] {
            #expect(text.contains(line), "\(line)")
        }
        // Parsed as YAML: every host mount read-only, limits set.
        try Requirement.that((try? run(["python3", "-c", "import yaml"]))?.status == 0, "python3 cannot import yaml (Debian package python3-yaml)")
        let script = """
            import sys, yaml
            docs = [d for d in yaml.safe_load_all(open(sys.argv[1]))]
            ds = next(d for d in docs if d["kind"] == "DaemonSet")
            pod = ds["spec"]["template"]["spec"]
            c = pod["containers"][0]
            mounts = {m["name"]: m for m in c["volumeMounts"]}
            host = {v["name"] for v in pod["volumes"] if "hostPath" in v}
            assert host == set(mounts), (host, set(mounts))
            assert all(m.get("readOnly") for m in mounts.values()), mounts
            assert {"/sys/kernel/btf", "/sys/fs/cgroup"} <= {m["mountPath"] for m in mounts.values()}
            assert c["resources"]["limits"]["memory"] and c["resources"]["limits"]["cpu"]
            assert ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items()
            """
        let r = try run(["python3", "-c", script, path])
        #expect(r.status == 0, "\(r.err)")
    }
}
