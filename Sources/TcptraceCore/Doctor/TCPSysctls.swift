/// The TCP sysctls doctor audits, as read from /proc/sys (nil: absent or unreadable).
public struct TCPSysctls: Hashable, Sendable {
    public var tcpTwReuse: Int?
    /// Absent (nil) on every kernel since 4.12.
    public var tcpTwRecycle: Int?
    public var tcpTimestamps: Int?
    public var tcpFinTimeout: Int?
    public var tcpMaxTwBuckets: Int?
    public var ipLocalPortRange: PortRange?
    public var tcpSyncookies: Int?
    public var tcpMaxSynBacklog: Int?
    public var somaxconn: Int?
    public init() {}

    /// sysctl name → /proc/sys path, in the order doctor lists them.
    public static let names: [String] = [
        "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_tw_recycle", "net.ipv4.tcp_timestamps", "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_max_tw_buckets", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
        "net.ipv4.tcp_max_syn_backlog", "net.core.somaxconn",
    ]

    public static func procPath(_ name: String) -> String {
        "/proc/sys/" + name.split(separator: ".").joined(separator: "/")
    }

    /// From the raw text of each file (as `names`; missing key: absent).
    public init(raw: [String: String]) {
        func int(_ k: String) -> Int? { raw[k].flatMap { Int($0.trimmingWhitespace) } }
        tcpTwReuse = int("net.ipv4.tcp_tw_reuse")
        tcpTwRecycle = int("net.ipv4.tcp_tw_recycle")
        tcpTimestamps = int("net.ipv4.tcp_timestamps")
        tcpFinTimeout = int("net.ipv4.tcp_fin_timeout")
        tcpMaxTwBuckets = int("net.ipv4.tcp_max_tw_buckets")
        tcpSyncookies = int("net.ipv4.tcp_syncookies")
        tcpMaxSynBacklog = int("net.ipv4.tcp_max_syn_backlog")
        somaxconn = int("net.core.somaxconn")
        if let r = raw["net.ipv4.ip_local_port_range"] {
            let parts = r.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
            if parts.count == 2, let lo = UInt16(parts[0]), let hi = UInt16(parts[1]) {
                ipLocalPortRange = PortRange(low: lo, high: hi)
            }
        }
    }
}

extension String {
    var trimmingWhitespace: Substring {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return s
    }
}
