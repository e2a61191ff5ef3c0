import Foundation
import Glibc
import Testing

/// A tmux server of the test's own (`-L`): sessions of anyone else on the machine are never
/// seen or touched, and killing the server ends everything the test started in it.
struct Tmux {
    let server = "top-test-\(getpid())"

    /// Runs a tmux client to completion; its output through a file. posix_spawn, not
    /// Foundation's Process: the client that starts the server exits while the server lives
    /// on, which Process did not notice (waitUntilExit hung), and Process starts children with
    /// signals blocked, which the panes would inherit. Here: default dispositions, none blocked.
    @discardableResult
    func run(_ args: [String]) throws -> (status: Int32, output: String) {
        let outPath = tempPath("tmux-out")
        defer { unlink(outPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else: the server lives on, and must not hold other suites' sockets open.
        _ = posixSpawnFileActionsAddCloseFrom(&actions, 3)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = (["tmux", "-L", server] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/usr/bin/tmux", &actions, &attr, argv, environ)
        guard rc == 0 else { throw SocketError(op: "posix_spawn tmux", errno: rc) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        return ((status >> 8) & 0xff, output)
    }

    /// The pane's text now, one string per row.
    func capture(_ session: String) throws -> [String] {
        try run(["capture-pane", "-p", "-t", session]).output.components(separatedBy: "\n")
    }

    /// Polls the pane every 100 ms until `predicate` holds, for at most `seconds`; the last
    /// capture either way.
    func waitFor(_ session: String, seconds: Double, _ predicate: ([String]) -> Bool) throws -> (Bool, [String]) {
        var rows: [String] = []
        let held = try eventually(seconds: seconds) {
            rows = try capture(session)
            return predicate(rows)
        }
        return (held, rows)
    }

    /// Ends the server and whatever still runs in its panes (killed with their process group,
    /// should a hangup not end them).
    func kill() {
        let panes = (try? run(["list-panes", "-a", "-F", "#{pane_pid}"]).output) ?? ""
        for pid in panes.split(separator: "\n").compactMap({ Int32($0) }) { Glibc.kill(-pid, SIGKILL) }
        _ = try? run(["kill-server"])
    }
}

@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct TopTests {
    static let port: UInt16 = 31100

    /// `top` in a 120x40 terminal shows a leak the test makes (port, holder pid and comm), lays
    /// itself out again when the window shrinks, and exits 0 on `q`, restoring the terminal.
    @Test func showsALeakUnderTmuxAndQuitsOnQ() throws {
        try KernelGate.check()
        let tmux = Tmux()
        let session = "top-leak"
        let statusFile = tempPath("status")
        defer {
            tmux.kill()
            unlink(statusFile)
        }
        let command = "'\(Binary.path)' top --port \(Self.port) --close-wait-threshold 1s; echo $? > \(statusFile)"
        try #require(try tmux.run(["new-session", "-d", "-s", session, "-x", "120", "-y", "40", command]).status == 0)
        let (started, first) = try tmux.waitFor(session, seconds: 30) { $0.contains { $0.hasPrefix("SOCKETS NOW") } }
        try #require(started, "top did not draw a frame: \(first.joined(separator: "\n"))")

        let server = try LeakyServer(port: Self.port)
        try server.leakOne(bytes: 3)
        try server.leakOne(bytes: 3)
        let holder = "\(server.pid)"
        let (leakShown, rows) = try tmux.waitFor(session, seconds: 30) { rows in
            rows.contains { $0.hasPrefix("CLOSE_WAIT LINGERERS  2 in CLOSE_WAIT over 1.0s  by holder: python3[\(holder)] 2") }
                && rows.filter {
                    $0.contains(" \(holder) ") && $0.contains("python3")
                        && ($0.contains("127.0.0.1:\(Self.port) ") || $0.hasSuffix("127.0.0.1:\(Self.port)"))
                }.count == 1
        }
        #expect(leakShown, "the leak is not on screen: \(rows.joined(separator: "\n"))")
        // One group row for both sockets: same holder, same listening endpoint, bytes left unread.
        let leakRows = rows.filter { $0.contains(" \(holder) ") }
        #expect(leakRows.count == 1 && leakRows.allSatisfy { $0.hasPrefix("  2 ") && $0.contains(" unread ") }, "\(leakRows)")
        #expect(rows.first?.hasPrefix("tcptrace-bpf top  ") == true)

        // Narrower: the state cells reflow, three to a line (a fourth would not fit in 70).
        try tmux.run(["resize-window", "-t", session, "-x", "70", "-y", "20"])
        let (reflowed, small) = try tmux.waitFor(session, seconds: 10) { rows in
            rows.contains { $0.hasPrefix("  FIN_WAIT1 ") } && rows.contains { $0.hasPrefix("CLOSE_WAIT LINGERERS") }
        }
        #expect(reflowed, "no redraw at 70x20: \(small.joined(separator: "\n"))")

        try tmux.run(["send-keys", "-t", session, "q"])
        eventually(seconds: 20) { access(statusFile, R_OK) == 0 }
        let status = (try? String(contentsOfFile: statusFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(status == "0", "top did not exit 0 on q")
        usleep(200_000)
        #expect(try tmux.run(["has-session", "-t", session]).status != 0, "the session ends with top")
    }

    /// Standard output not a terminal: plain frames, no escape codes, each ended by a blank line.
    @Test func framesToAPipeArePlainText() throws {
        try KernelGate.check()
        let server = try LeakyServer(port: Self.port + 1)
        try server.leakOne(bytes: 0)
        // The leak began before top: found by the start-up census, its age a lower bound.
        let r = try Binary.run(["top", "--port", "\(Self.port + 1)", "--close-wait-threshold", "1s", "--duration", "3500ms"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stdout.contains("\u{1b}"), "no escape codes")
        #expect(r.stdout.hasSuffix("\n\n"))
        // A blank line ends each frame, and only that.
        let frames = r.stdout.dropLast(2).components(separatedBy: "\n\n")
        #expect(frames.count >= 3, "\(r.stdout)")
        #expect(frames.allSatisfy { $0.hasPrefix("tcptrace-bpf top  ") && !$0.contains("\n\n") })
        let leak = frames.last?.components(separatedBy: "\n").first { $0.contains(" \(server.pid) ") && $0.contains("python3") }
        // Its group: one socket, nothing unread (at 80 columns the row ends at the endpoint).
        #expect(leak?.hasPrefix("  1 ") == true && leak?.contains(" not_closed ") == true, "\(frames.last ?? "")")
    }
}
