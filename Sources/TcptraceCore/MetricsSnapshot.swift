/// Where `--metrics-address` listens: an IPv4 address or a bracketed IPv6 address, and a port.
public struct MetricsAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: IPAddress
    public var port: UInt16

    public init(host: IPAddress, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// `127.0.0.1:9464`, `0.0.0.0:9464`, `[::1]:9464`, `[::]:9464`; nil for anything else
    /// (names are not looked up: the address is what gets bound).
    public init?(_ text: String) {
        let hostText: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            hostText = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard hostText.contains(":") else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostText = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !hostText.contains(":") else { return nil }
        }
        guard let host = IPAddress(hostText), !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = UInt16(portText), port > 0
        else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.family == .ipv6 ? "[\(host.text)]:\(port)" : "\(host.text):\(port)" }
}

/// CLOSE_WAIT lingerers for metrics, by holder command name and container: open now (reported
/// and not yet seen leaving CLOSE_WAIT) and total reported. Bounded: at most `capacity` label
/// pairs; lingerers of further pairs count under comm and container `other`.
public struct LingererTally: Sendable {
    public struct Key: Hashable, Sendable, Comparable {
        public var comm: String
        public var container: String
        public init(comm: String, container: String) {
            self.comm = comm
            self.container = container
        }
        public static func < (a: Key, b: Key) -> Bool { (a.comm, a.container) < (b.comm, b.container) }
        public static let other = Key(comm: "other", container: "other")
    }

    public static let capacity = 20
    /// Lingerers open now, by cookie; bounded like the connection table (`limit`).
    private var open: [UInt64: Key] = [:]
    private let limit: Int
    public private(set) var total: [Key: UInt64] = [:]
    public private(set) var openNow: [Key: UInt64] = [:]

    public init(limit: Int = 100_000) { self.limit = limit }

    /// `container`: the container's short name, nil for none (the host).
    public mutating func record(_ l: LingererRecord, container: String?) {
        switch l.event {
        case .lingering:
            guard open[l.identity.cookie] == nil else { return }
            var key = Key(comm: l.holder.map { $0.process.comm.description } ?? "?", container: container ?? "")
            if total[key] == nil && total.count >= Self.capacity { key = .other }
            total[key, default: 0] += 1
            if open.count >= limit {  // lingerers evicted from the table never say closed
                open.removeAll(keepingCapacity: true)
                openNow.removeAll(keepingCapacity: true)
            }
            open[l.identity.cookie] = key
            openNow[key, default: 0] += 1
        case .closed:
            guard let key = open.removeValue(forKey: l.identity.cookie) else { return }
            openNow[key, default: 0] -= 1
        case .openAtEnd:
            break
        }
    }
}

/// A BPF program's run statistics (bpf_prog_info): non-zero only while
/// `kernel.bpf_stats_enabled` is 1.
public struct ProgramRunStats: Hashable, Sendable {
    public var program: String
    public var runNanoseconds: UInt64
    public var runs: UInt64
    public init(program: String, runNanoseconds: UInt64, runs: UInt64) {
        self.program = program
        self.runNanoseconds = runNanoseconds
        self.runs = runs
    }
}

/// The `process_*` metrics of the tracer itself (from /proc/self).
public struct ProcessStats: Hashable, Sendable {
    public var cpuSeconds: Double
    public var residentBytes: UInt64
    public var virtualBytes: UInt64
    /// Since the Unix epoch.
    public var startTimeSeconds: Double
    public var openFDs: UInt64?
    public var maxFDs: UInt64?
    public init(
        cpuSeconds: Double, residentBytes: UInt64, virtualBytes: UInt64, startTimeSeconds: Double, openFDs: UInt64?,
        maxFDs: UInt64?
    ) {
        self.cpuSeconds = cpuSeconds
        self.residentBytes = residentBytes
        self.virtualBytes = virtualBytes
        self.startTimeSeconds = startTimeSeconds
        self.openFDs = openFDs
        self.maxFDs = maxFDs
    }

    /// From /proc/self/stat (fields after the command name), the boot time (/proc/stat
    /// `btime`), clock ticks per second and the page size.
    public init?(procStat: String, bootTimeSeconds: UInt64, ticksPerSecond: UInt64, pageBytes: UInt64, openFDs: UInt64?, maxFDs: UInt64?) {
        guard let end = procStat.lastIndex(of: ")"), ticksPerSecond > 0 else { return nil }
        // After ") ": state is field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24.
        let f = procStat[procStat.index(after: end)...].split(separator: " ")
        guard f.count >= 22, let utime = UInt64(f[11]), let stime = UInt64(f[12]), let start = UInt64(f[19]),
            let vsize = UInt64(f[20]), let rss = UInt64(f[21])
        else { return nil }
        self.init(
            cpuSeconds: Double(utime + stime) / Double(ticksPerSecond), residentBytes: rss * pageBytes, virtualBytes: vsize,
            startTimeSeconds: Double(bootTimeSeconds) + Double(start) / Double(ticksPerSecond), openFDs: openFDs, maxFDs: maxFDs)
    }

    /// `btime` from /proc/stat.
    public static func bootTime(procStat text: String) -> UInt64? {
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return UInt64(line.dropFirst(6).drop(while: { $0 == " " }))
        }
        return nil
    }
}

/// `Tcp: RetransSegs` from /proc/net/snmp (pairs of lines: names, then values).
public func retransmittedSegments(procNetSnmp text: String) -> UInt64? {
    var header: [Substring]?
    for line in text.split(separator: "\n") where line.hasPrefix("Tcp:") {
        let fields = line.split(separator: " ")
        guard let names = header else {
            header = fields
            continue
        }
        for (name, value) in zip(names.dropFirst(), fields.dropFirst()) where name == "RetransSegs" { return UInt64(value) }
        return nil
    }
    return nil
}

/// What the metrics show, as values: taken on the consumer thread at most about once a second,
/// rendered on each scrape. Copies share storage with the live run until it writes.
public struct MetricsSnapshot: Sendable {
    public var summary: RunSummary
    /// The latest census over the namespaces the run covers (nil before the first).
    public var census: [Census]?
    public var lingerers: LingererTally
    /// Connections in the table now.
    public var tracked: Int
    /// Growth of TcpExtTCPTimeWaitOverflow since the start, in the tracer's network namespace.
    public var timeWaitOverflow: UInt64?
    /// `Tcp: RetransSegs` in the tracer's network namespace.
    public var hostRetransmittedSegments: UInt64?
    public var programs: [ProgramRunStats]
    /// TIME_WAIT destinations shown (the most first).
    public var topTimeWait: Int

    public init(
        summary: RunSummary, census: [Census]? = nil, lingerers: LingererTally = LingererTally(), tracked: Int = 0,
        timeWaitOverflow: UInt64? = nil, hostRetransmittedSegments: UInt64? = nil, programs: [ProgramRunStats] = [],
        topTimeWait: Int = 10
    ) {
        self.summary = summary
        self.census = census
        self.lingerers = lingerers
        self.tracked = tracked
        self.timeWaitOverflow = timeWaitOverflow
        self.hostRetransmittedSegments = hostRetransmittedSegments
        self.programs = programs
        self.topTimeWait = topTimeWait
    }
}
