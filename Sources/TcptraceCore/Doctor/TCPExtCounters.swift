/// Counters from /proc/net/netstat (TcpExt) that tie the sysctls to what happened.
public struct TCPExtCounters: Hashable, Sendable {
    /// TcpExtTCPTimeWaitOverflow: TIME_WAIT sockets not created because tcp_max_tw_buckets was hit.
    public var timeWaitOverflow: UInt64?
    /// TcpExtListenOverflows: connections dropped because an accept queue was full.
    public var listenOverflows: UInt64?
    /// TcpExtTCPReqQFullDrop: SYNs dropped because the SYN backlog was full and syncookies off.
    public var reqQueueFullDrop: UInt64?
    /// TcpExtListenDrops: SYNs and final ACKs dropped at a listener (overflows and other drops).
    public var listenDrops: UInt64?
    public init(timeWaitOverflow: UInt64? = nil, listenOverflows: UInt64? = nil, reqQueueFullDrop: UInt64? = nil) {
        self.timeWaitOverflow = timeWaitOverflow
        self.listenOverflows = listenOverflows
        self.reqQueueFullDrop = reqQueueFullDrop
    }

    /// Parses /proc/net/netstat: pairs of lines, "TcpExt: Name1 Name2 ..." then "TcpExt: v1 v2 ...".
    public init(procNetNetstat text: String) {
        self.init()
        var header: [Substring]? = nil
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.first == "TcpExt:" else { continue }
            if let names = header {
                for (name, value) in zip(names.dropFirst(), fields.dropFirst()) {
                    switch name {
                    case "TCPTimeWaitOverflow": timeWaitOverflow = UInt64(value)
                    case "ListenOverflows": listenOverflows = UInt64(value)
                    case "TCPReqQFullDrop": reqQueueFullDrop = UInt64(value)
                    case "ListenDrops": listenDrops = UInt64(value)
                    default: break
                    }
                }
                header = nil
            } else {
                header = fields
            }
        }
    }
}
