import ArgumentParser
import TcptraceCore
import TcptraceHost

// Option types and parsing every command shares; no command defines them for the others.

/// `--format`: text for people, JSON lines for machines.
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json
}

/// `--catch-up`: the ring consumer's scheduling while it is behind.
extension CatchUpScheduling: ExpressibleByArgument {}

/// Turns a `ValueParseError` into the parser's one-line error (exit 64).
func parsed<T>(_ body: () throws(ValueParseError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        throw ValidationError(error.description)
    }
}

/// What to trace and how: the filters (in the kernel) and the tracer's settings. `trace` and
/// `top` declare them once, here.
public struct TraceSelection: ParsableArguments {
    @Flag(name: .customShort("4"), help: "IPv4 only (includes IPv4-mapped IPv6 sockets).")
    var ipv4Only = false

    @Flag(name: .customShort("6"), help: "IPv6 only.")
    var ipv6Only = false

    @Option(
        help: ArgumentHelp("Ports to show, either side, comma-separated (at most \(TraceFilter.maxPortsPerList)).", valueName: "list"),
        transform: { s in try parsed { () throws(ValueParseError) in try OptionValues.ports(s, max: TraceFilter.maxPortsPerList) } })
    var port: [UInt16]?

    @Option(
        help: ArgumentHelp(
            "Local ports to show (at most \(TraceFilter.maxPortsPerList)). A client's CLOSE->SYN_SENT has no local port yet unless it bound one.",
            valueName: "list"),
        transform: { s in try parsed { () throws(ValueParseError) in try OptionValues.ports(s, max: TraceFilter.maxPortsPerList) } })
    var lport: [UInt16]?

    @Option(
        help: ArgumentHelp("Remote ports to show (at most \(TraceFilter.maxPortsPerList)).", valueName: "list"),
        transform: { s in try parsed { () throws(ValueParseError) in try OptionValues.ports(s, max: TraceFilter.maxPortsPerList) } })
    var rport: [UInt16]?

    @Option(help: ArgumentHelp("Only sockets owned by this process id (the one that connected or listened).", valueName: "pid"))
    var pid: UInt32?

    @Option(help: ArgumentHelp("Only sockets owned by a process with this command name (as in /proc/PID/comm).", valueName: "name"))
    var comm: String?

    @Option(
        help: ArgumentHelp("Stop after this long: 500ms, 10s, 5m, 1h.", valueName: "duration"),
        transform: { s in try parsed { () throws(ValueParseError) in try OptionValues.duration(s) } })
    var duration: UInt64?

    @Option(
        help: ArgumentHelp("BPF ring buffer size, a power of two: 4096 to 1G, e.g. 256K, 8M.", valueName: "size"),
        transform: { s in
            try parsed { () throws(ValueParseError) in try OptionValues.byteSize(s, min: 4096, max: 1 << 30) }
        })
    var ringBufferSize: UInt64 = 8 << 20

    @Option(name: .customLong("close-wait-threshold"), help: TableOptions.closeWaitThresholdHelp, transform: TableOptions.duration)
    var closeWaitThresholdOption: UInt64?
    /// The tables' default unless set (`diagnose` has its own: 5 s).
    var closeWaitThreshold: UInt64 { closeWaitThresholdOption ?? TableOptions.closeWaitThreshold }

    @Option(help: TableOptions.maxConnectionsHelp)
    var maxConnections: Int = TableOptions.maxConnections

    @Option(
        help: ArgumentHelp(
            "TIME_WAIT makers and port-pressure destinations kept (owner, destination pairs); the rest are summed in one `other` row.",
            valueName: "n"))
    var churnTop: Int = TimeWaitMakers.defaultCapacity

    @Option(
        help: ArgumentHelp(
            "Only sockets in this network namespace: its inode, a path (/run/netns/NAME, /proc/PID/ns/net), an `ip netns` name, or host.",
            valueName: "ns"))
    var netns: String?

    @Option(help: ArgumentHelp("Only sockets in this cgroup v2 directory or below it (a path under the cgroup2 mount).", valueName: "path"))
    var cgroup: String?

    @Option(help: ArgumentHelp("Only sockets of the container whose id starts with this (docker, containerd, cri-o, podman; at least 4 characters).", valueName: "id"))
    var container: String?

    @Option(
        name: .customLong("threshold"),
        help: ArgumentHelp("Set a finding threshold, NAME=VALUE (repeatable; see the README's thresholds table), e.g. port_use_warning=40.", valueName: "name=value"))
    var thresholdAssignments: [String] = []

    /// The findings' thresholds with `--threshold` applied.
    var thresholds: FindingThresholds {
        var t = FindingThresholds()
        for a in thresholdAssignments { try? t.set(a) }
        return t
    }
    @Flag(
        help: "Take the user stack where connections are opened (connect(), accept()), so CLOSE_WAIT leak groups name the code that opened them (costs ~3 µs per connect; off by default).")
    var openerStacks = false

    @Flag(
        inversion: .prefixedNo,
        help: "Count the tracepoint hits the kernel runs no BPF program for (lost.unseen) with a perf counter on the tracepoint (needs tracefs). On by default when the only filters are ports, and then skipped with a notice if perf's event cannot open; --count-skips makes that an error, and counts host-wide under other filters.")
    var countSkips: Bool? = nil

    @Flag(name: .shortAndLong, help: "Print libbpf's log (verifier messages) and the capabilities kept after attaching on standard error.")
    var verbose = false

    public init() {}

    public mutating func validate() throws {
        if ipv4Only && ipv6Only { throw ValidationError("-4 and -6 exclude each other") }
        if let comm {
            let most = TraceFilter.maxCommBytes
            if comm.isEmpty || comm.utf8.count > most {
                throw ValidationError("--comm must be 1 to \(most) bytes (the kernel keeps \(most) of a command name)")
            }
        }
        var t = FindingThresholds()
        for a in thresholdAssignments { try parsed { () throws(ValueParseError) in try t.set(a) } }
        if pid == 0 { throw ValidationError("--pid must be a process id greater than 0") }
        if cgroup != nil && container != nil { throw ValidationError("--cgroup and --container exclude each other") }
        if let container, container.count < 4 { throw ValidationError("--container needs at least 4 characters of the id") }
        try TableOptions.validate(maxConnections: maxConnections, churnTop: churnTop)
    }

    public var filter: TraceFilter {
        var f = TraceFilter()
        f.family = ipv4Only ? .ipv4 : ipv6Only ? .ipv6 : nil
        f.ports = port ?? []
        f.localPorts = lport ?? []
        f.remotePorts = rport ?? []
        f.ownerPID = pid
        f.ownerComm = comm
        return f
    }
}

/// The connection table's options, which `trace`, `top` (through `TraceSelection`) and `report`
/// share: declared once here, each command placing them where its help lists them.
enum TableOptions {
    static let closeWaitThresholdHelp = ArgumentHelp("Report a socket once it has been in CLOSE_WAIT this long.", valueName: "duration")
    static let closeWaitThreshold: UInt64 = 30_000_000_000
    static let maxConnectionsHelp = ArgumentHelp(
        "Most connections tracked at once; the least recently active are evicted past it.", valueName: "n")
    static let maxConnections = 100_000

    static func duration(_ s: String) throws -> UInt64 { try parsed { () throws(ValueParseError) in try OptionValues.duration(s) } }

    static func validate(maxConnections: Int, churnTop: Int) throws {
        if maxConnections < 100 || maxConnections > 100_000_000 {
            throw ValidationError("--max-connections must be between 100 and 100000000")
        }
        if churnTop < 1 || churnTop > 4096 { throw ValidationError("--churn-top must be between 1 and 4096") }
    }
}
