import ArgumentParser
import TcptraceHost
import TcptraceCore

/// `tcptrace-bpf`: tracing is the default subcommand, so `tcptrace-bpf --port 80` traces.
public struct TcptraceCommand: ParsableCommand {
    /// Parses and runs; every error is one line on stderr with its own exit code.
    public static func runMain(_ arguments: [String]? = nil) -> Never {
        MemoryPolicy.apply()
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            exitProcess(0)
        } catch {
            var code = exitCode(for: error)
            // diagnose is a monitoring plugin: whatever keeps it from watching is UNKNOWN (3).
            if (arguments ?? Array(CommandLine.arguments.dropFirst())).first == "diagnose", code != .success,
                ![0, 1, 2, 3].contains(code.rawValue)
            {
                code = ExitCode(PluginStatus.unknown.rawValue)
            }
            let message = self.message(for: error, arguments: arguments ?? Array(CommandLine.arguments.dropFirst()))
            if code == .success || message.isEmpty {
                self.exit(withError: error)  // --help, --version, or already reported
            }
            printError(message.split(separator: "\n").first.map(String.init) ?? message)
            exitProcess(code.rawValue)
        }
    }

    /// The parser's message, except where it misleads: a negative number after an option that
    /// takes a value (`--pid -5`) is read as an option, so the parser says the value is missing.
    static func message(for error: Error, arguments: [String]) -> String {
        let message = self.message(for: error)
        let prefix = "Missing value for '"
        guard message.hasPrefix(prefix) else { return message }
        let option = message.dropFirst(prefix.count).prefix { $0 != " " && $0 != "'" }
        guard let at = arguments.firstIndex(of: String(option)), at + 1 < arguments.count else { return message }
        let value = arguments[at + 1]
        guard value.count > 1, value.first == "-", let second = value.dropFirst().first, second.isNumber || second == "." else {
            return message
        }
        return "\(option) \(value): negative values are not accepted"
    }

    public static let configuration = CommandConfiguration(
        commandName: "tcptrace-bpf",
        abstract: "Trace TCP connection states from the kernel: every transition, as text or JSON lines.",
        discussion: """
            Loads a BPF program on the tracepoint sock:inet_sock_set_state and prints every TCP \
            state transition with the socket cookie, the owning process, both endpoints and the \
            time spent in the previous state. Needs root (or CAP_BPF + CAP_PERFMON, \
            CAP_SYS_ADMIN, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH) and Linux >= 5.12 with BTF; \
            after attaching it keeps only the capabilities it still uses. Options of `trace`: tcptrace-bpf help trace

            Examples:
              tcptrace-bpf                           every transition, as text
              tcptrace-bpf --port 8080               to or from port 8080
              tcptrace-bpf --format json -o t.jsonl  JSON lines to a file
              tcptrace-bpf -4 --rport 5432 --duration 5m
              tcptrace-bpf --pid 1234 --format json  sockets owned by pid 1234
            """,
        version: "0.1.0",
        subcommands: [TraceCommand.self, TopCommand.self, CensusCommand.self, DoctorCommand.self, DiagnoseCommand.self, ReportCommand.self],
        defaultSubcommand: TraceCommand.self
    )

    public init() {}
}
