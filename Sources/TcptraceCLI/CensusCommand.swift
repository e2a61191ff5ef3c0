import ArgumentParser
import Glibc
import TcptraceBPF
import TcptraceCore

/// `tcptrace-bpf census`: one sock_diag dump, counted. No BPF, no tracer.
public struct CensusCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "census",
        abstract: "Count TCP sockets per state now (TIME_WAIT and SYN_RECV included), from sock_diag.",
        discussion: """
            One dump of the kernel's socket tables, as `ss` takes it: counts per state, the peers \
            behind TIME_WAIT and CLOSE_WAIT, and for each destination the local ports held in \
            TIME_WAIT against net.ipv4.ip_local_port_range. Needs no BPF and no root.
            """
    )

    @Option(help: "Output format: text for people, json for one census object per line.")
    var format: OutputFormat = .text

    @Flag(name: .customShort("4"), help: "IPv4 only (includes IPv4-mapped IPv6 sockets).")
    var ipv4Only = false

    @Flag(name: .customShort("6"), help: "IPv6 only.")
    var ipv6Only = false

    @Option(
        help: ArgumentHelp("Count only sockets with one of these ports on either side, comma-separated (at most 8).", valueName: "list"),
        transform: { s in try parsed { () throws(ValueParseError) in try OptionValues.ports(s, max: TraceFilter.maxPortsPerList) } })
    var port: [UInt16]?

    @Option(help: ArgumentHelp("List this many peers and destinations in each top list.", valueName: "n"))
    var top: Int = Census.defaultTop

    public init() {}

    public mutating func validate() throws {
        if ipv4Only && ipv6Only { throw ValidationError("-4 and -6 exclude each other") }
        if top < 0 { throw ValidationError("--top must be 0 or more") }
    }

    var filter: CensusFilter {
        CensusFilter(family: ipv4Only ? .ipv4 : ipv6Only ? .ipv6 : nil, ports: port ?? [])
    }

    public func run() throws {
        let census: Census
        do {
            census = try Self.take(filter: filter, top: top)
        } catch {
            printError("census: \(error.description)")
            throw ExitCode(error.exitStatus.rawValue)
        }
        let writer = LineWriter(fd: 1, ownsDescriptor: false)
        if format == .json {
            JSONLines.append(census, to: &writer.buffer)
        } else {
            TextLines(utcOffsetSeconds: 0).appendCensus(census, to: &writer.buffer)
        }
        try Self.finish(writer)
    }

    /// Dumps the families the filter asks for (IPv4-mapped sockets live in the IPv6 table).
    static func take(filter: CensusFilter, top: Int = Census.defaultTop) throws(TracerError) -> Census {
        let families: [AddressFamily] = filter.family == .ipv6 ? [.ipv6] : [.ipv4, .ipv6]
        var tally = Census.Tally(filter: filter, portRange: Sysctl.localPortRange())
        try SockDiag.forEach(families: families) { tally.add($0) }
        return tally.census(time: SystemClock.wallNow(), top: top)
    }

    /// Writes what is buffered; a closed pipe ends quietly, other errors exit 74.
    static func finish(_ writer: LineWriter) throws {
        do {
            try writer.flush()
        } catch OutputError.closed {
            return
        } catch {
            printError("cannot write output: \(error)")
            throw ExitCode(ExitStatus.ioError.rawValue)
        }
    }
}

/// `tcptrace-bpf doctor`: can this host run the tracer, and what do its sysctls say.
public struct DoctorCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that this host can run the tracer, and audit TCP sysctls against a census taken now.",
        discussion: """
            Checks privileges, kernel BTF, the tracepoint's BTF, tp_btf, ring buffer and sk_storage \
            (by loading the embedded program, then removing it), and whether tracefs is mounted \
            (not needed). Then lists the TCP sysctls with what each does, reads \
            TcpExtTCPTimeWaitOverflow and friends from /proc/net/netstat, and advises only where \
            the census or those counters show a problem. Exits 0 when the tracer can run, else \
            with the status the tracer itself would exit with.
            """
    )

    @Option(help: "Output format: text for people, json for one doctor object.")
    var format: OutputFormat = .text

    public init() {}

    public func run() throws {
        let report = Self.examine()
        let writer = LineWriter(fd: 1, ownsDescriptor: false)
        if format == .json {
            JSONLines.append(report, to: &writer.buffer)
        } else {
            TextLines(utcOffsetSeconds: 0).appendDoctor(report, to: &writer.buffer)
        }
        try CensusCommand.finish(writer)
        if !report.runnable {
            let privileges = report.checks.first { $0.name == "privileges" }
            throw ExitCode((privileges?.status == .fail ? ExitStatus.noPermission : .unavailable).rawValue)
        }
    }

    static func examine() -> DoctorReport {
        var checks = HostProbe.checks()
        let (raw, values) = Sysctl.readTCP()
        var census: Census? = nil
        do {
            census = try CensusCommand.take(filter: CensusFilter())
            checks.append(.init(name: "sock_diag", status: .ok, detail: "census of \(census!.total) TCP sockets taken"))
        } catch {
            checks.append(.init(name: "sock_diag", status: .info, detail: "no census: \(error.description)"))
        }
        return DoctorReport(
            time: SystemClock.wallNow(), checks: checks, sysctls: values, sysctlText: raw,
            counters: Sysctl.tcpExtCounters(), census: census)
    }
}
