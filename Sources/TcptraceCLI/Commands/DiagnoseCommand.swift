import ArgumentParser
import Glibc
import TcptraceKernel
import TcptraceCore
import TcptraceHost

/// `tcptrace-bpf diagnose`: watch for a while, then say what is wrong, ranked, with evidence and
/// fix. Exit status as a monitoring plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
public struct DiagnoseCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "diagnose",
        abstract: "Watch TCP for a while and say what is wrong: findings ranked, with evidence and fix.",
        discussion: """
            Traces for --duration (default 30s), takes sock_diag censuses of every network namespace, \
            reads each namespace's /proc/net/netstat and audits the TCP sysctls, then prints the \
            findings, most severe first. Exit status as a monitoring plugin (Nagios, Icinga, cron): \
            0 OK (nothing above info), 1 WARNING, 2 CRITICAL, 3 UNKNOWN (it could not watch). \
            Thresholds: --threshold NAME=VALUE (README, "diagnose").
            """
    )

    @Option(help: "Output format: text for people, json for one finding object per line and a diagnosis line.")
    var format: OutputFormat = .text

    @Option(help: ArgumentHelp("Also write the HTML page of what was seen, opening with the findings.", valueName: "path"))
    var html: String?

    /// Filters and tracer settings, as for `trace` (`--duration` defaults to 30s here).
    @OptionGroup var selection: TraceSelection

    public init() {}

    public mutating func validate() throws {
        if let html, html.isEmpty { throw ValidationError("--html needs a file path") }
    }

    public func run() throws {
        let status = diagnose()
        throw ExitCode(status.rawValue)
    }

    var settings: TraceSettings {
        var s = selection.settings
        s.duration = selection.duration ?? 30_000_000_000
        s.closeWaitThreshold = selection.closeWaitThresholdOption ?? 5_000_000_000
        // A short run: opener stacks (about 3 µs a connect) name the code that opened a leak.
        s.openerStacks = true
        // Connections and lingerers only: the kernel aggregates each socket's transitions.
        s.events = [.connections, .lingerers, .findings]
        s.censusInterval = 0
        return s
    }

    func diagnose() -> PluginStatus {
        var page: LineWriter?
        if let html {
            do {
                page = try LineWriter.open(path: html, append: false)
            } catch {
                printError("cannot write output file \(error)")
                return .unknown
            }
        }
        let placed: (filter: TraceFilter, namespace: NetworkNamespace?)
        do {
            placed = try selection.placedFilter()
        } catch {
            printError(error.description)
            return .unknown
        }
        let sink = DiagnoseSink(json: format == .json, progress: isatty(2) == 1)
        sink.page = page.map { ($0, HTMLReportModel(closeWaitThresholdNanoseconds: settings.closeWaitThreshold)) }
        let run = TraceRun(
            settings: settings, filter: placed.filter, namespaces: NamespaceDiag(only: placed.namespace), writer: LineWriter(), sink: sink)
        let exit = run.run()
        guard exit == .success, let result = sink.result else { return .unknown }
        if let failed = sink.writePage() {
            printError(failed)
            return .unknown
        }
        return result.status
    }
}
