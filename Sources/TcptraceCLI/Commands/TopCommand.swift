import ArgumentParser
import TcptraceCore
import TcptraceHost

/// `top`: the same run as `trace`, shown as one screen refreshed each second.
public struct TopCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "A live view: states now, transitions/s, CLOSE_WAIT lingerers, TIME_WAIT destinations; q quits.",
        discussion: """
            Refreshed each second and on resize; q (or Ctrl-C) quits. When standard output is \
            not a terminal, frames are written one after another, plain text, each followed by \
            a blank line. NO_COLOR turns colour off.
            """
    )

    /// The filters and tracer settings of `trace`.
    @OptionGroup var selection: TraceSelection

    public init() {}

    public func run() throws {
        let status = top()
        if status != .success { throw ExitCode(status.rawValue) }
    }

    func top() -> ExitStatus {
        // Transitions go to the run one by one (not aggregated in the kernel): the view counts
        // them per second and its latencies as they happen, not when connections close.
        var settings = selection.settings
        settings.events = [.transitions, .lingerers, .findings]
        let placed: (filter: TraceFilter, namespace: NetworkNamespace?)
        switch selection.placedFilterOrStatus() {
        case .placed(let f, let ns): placed = (f, ns)
        case .failed(let status): return status
        }
        let terminal = LiveTerminal()
        defer { terminal.leave() }
        let sink = TopSink(
            terminal: terminal,
            model: TopModel(closeWaitThresholdNanoseconds: selection.closeWaitThreshold, limit: selection.maxConnections))
        return TraceRun(
            settings: settings, filter: placed.filter, namespaces: NamespaceDiag(only: placed.namespace), writer: LineWriter(), sink: sink
        ).run()
    }
}
