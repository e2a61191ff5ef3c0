import ArgumentParser
import TcptraceHost
import TcptraceCore

/// `tcptrace-bpf census`: one sock_diag dump, counted. No BPF, no tracer.
public struct CensusCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "census",
        abstract: "Count TCP sockets per state now (TIME_WAIT and SYN_RECV included), from sock_diag.",
        discussion: """
            One dump of the kernel's socket tables, as `ss` takes it: counts per state, the peers \
            behind TIME_WAIT and CLOSE_WAIT, and for each destination the local ports held in \
            TIME_WAIT against net.ipv4.ip_local_port_range. Every network namespace of the host \
            (containers) is counted on its own, then all together; --netns picks one. Needs no \
            BPF; other namespaces need root (CAP_SYS_ADMIN to enter them).
            """
    )

    @Option(help: "Output format: text for people, json for one census object per line.")
    var format: OutputFormat = .text

    @Flag(name: .customShort("4"), help: "IPv4 only (includes IPv4-mapped IPv6 sockets).")
    var ipv4Only = false

    @Flag(name: .customShort("6"), help: "IPv6 only.")
    var ipv6Only = false

    @Option(
        help: ArgumentHelp("Count only sockets with one of these ports on either side, comma-separated (at most \(TraceFilter.maxPortsPerList)).", valueName: "list"),
        transform: { s in try parsed { () throws(ValueParseError) in try OptionValues.ports(s, max: TraceFilter.maxPortsPerList) } })
    var port: [UInt16]?

    @Option(help: ArgumentHelp("List this many peers and destinations in each top list.", valueName: "n"))
    var top: Int = Census.defaultTop

    @Option(
        help: ArgumentHelp(
            "Count one network namespace: its inode, a path (/run/netns/NAME, /proc/PID/ns/net), an `ip netns` name, or host.",
            valueName: "ns"))
    var netns: String?

    public init() {}

    public mutating func validate() throws {
        if ipv4Only && ipv6Only { throw ValidationError("-4 and -6 exclude each other") }
        if top < 0 { throw ValidationError("--top must be 0 or more") }
    }

    var filter: CensusFilter {
        CensusFilter(family: ipv4Only ? .ipv4 : ipv6Only ? .ipv6 : nil, ports: port ?? [])
    }

    public func run() throws {
        var namespaces = NetworkNamespaces.discover()
        if let netns {
            do {
                namespaces = [try NetworkNamespaces.resolve(netns, among: namespaces)]
            } catch {
                printError("census: \(error.description)")
                throw ExitCode(ExitStatus.usage.rawValue)
            }
        }
        var censuses: [Census]
        do {
            censuses = try CensusSource.takeAll(filter: filter, top: top, namespaces: namespaces, sockets: DiagSockets())
        } catch {
            printError("census: \(error.description)")
            throw ExitCode(error.exitStatus.rawValue)
        }
        if censuses.count > 1 { censuses.append(Census.total(of: censuses, time: censuses[censuses.count - 1].time)) }
        let writer = LineWriter()
        let text = TextLines(utcOffsetSeconds: 0)
        for (i, census) in censuses.enumerated() {
            if format == .json {
                JSONLines.append(census, to: &writer.buffer)
            } else {
                if i > 0 { writer.buffer.append(UInt8(ascii: "\n")) }
                text.appendCensus(census, to: &writer.buffer)
            }
        }
        try finishOutput(writer)
    }
}
