import ArgumentParser
import TcptraceCore
import TcptraceHost
import TcptraceKernel

/// `tcptrace-bpf doctor`: can this host run the tracer, and what do its sysctls say.
public struct DoctorCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that this host can run the tracer, and audit TCP sysctls against a census taken now.",
        discussion: """
            Checks privileges, kernel BTF, the tracepoint's BTF, tp_btf, ring buffer and sk_storage \
            (by loading the embedded program, then removing it), every variant of the program the \
            options can select (each mode, each kind of filter: loaded, then removed), and whether \
            tracefs is mounted (not needed). Then lists the TCP sysctls with what each does, reads \
            TcpExtTCPTimeWaitOverflow and friends from /proc/net/netstat, and advises only where \
            the census or those counters show a problem. Exits 0 when the tracer can run in every \
            mode, else with the status the tracer itself would exit with.
            """
    )

    @Option(help: "Output format: text for people, json for one doctor object.")
    var format: OutputFormat = .text

    public init() {}

    public func run() throws {
        let (report, failure) = Self.examine()
        let writer = LineWriter()
        if format == .json {
            JSONLines.append(report, to: &writer.buffer)
        } else {
            TextLines(utcOffsetSeconds: 0).appendDoctor(report, to: &writer.buffer)
        }
        try finishOutput(writer)
        if !report.runnable { throw ExitCode((failure ?? .unavailable).rawValue) }
    }

    /// The report, and what a run would exit with (nil: it can run).
    static func examine() -> (DoctorReport, ExitStatus?) {
        let host = HostProbe.examine()
        var checks = host.checks
        let (raw, values) = Sysctl.readTCP()
        var census: Census? = nil
        do {
            census = try CensusSource.take(filter: CensusFilter())
            checks.append(.init(name: "sock_diag", status: .ok, detail: "census of \(census!.total) TCP sockets taken"))
        } catch {
            checks.append(.init(name: "sock_diag", status: .info, detail: "no census: \(error.description)"))
        }
        // Containers: the sysctls and the census above are this namespace's; the others are
        // counted too, so that a pod's TIME_WAIT or CLOSE_WAIT pile-up is not missed.
        let namespaces = NetworkNamespaces.discover()
        if let all = try? CensusSource.takeAll(filter: CensusFilter(), namespaces: namespaces, sockets: DiagSockets()) {
            let others = all.filter { $0.netnsName != "host" }
            let worst = others.max { $0.count(.closeWait) + $0.count(.timeWait) < $1.count(.closeWait) + $1.count(.timeWait) }
            var detail = "\(all.count) counted; in the \(others.count) other than this one: TIME_WAIT \(others.reduce(0) { $0 + $1.count(.timeWait) }), CLOSE_WAIT \(others.reduce(0) { $0 + $1.count(.closeWait) })"
            if let worst, worst.count(.closeWait) + worst.count(.timeWait) > 0 {
                detail += "; most in \(worst.netns.map(String.init) ?? "?")\(worst.netnsName.map { " (\($0))" } ?? "") (census --netns \(worst.netns.map(String.init) ?? "?"))"
            }
            checks.append(.init(name: "namespaces", status: .info, detail: "network namespaces: " + detail))
        }
        let report = DoctorReport(
            time: SystemClock.wallNow(), checks: checks, sysctls: values, sysctlText: raw,
            counters: Sysctl.tcpExtCounters(), census: census)
        return (report, host.failure)
    }
}
