import CTcptraceHost
import Glibc
import TcptraceCore

/// Reading /proc/sys and /proc/net: small text files, read whole with a bounded buffer.
public enum Sysctl {
    /// The text of a /proc file (at most `limit` bytes), or nil when it does not exist or
    /// cannot be read.
    public static func readFile(_ path: String, limit: Int = 1 << 20) -> String? {
        guard let fd = try? FileDescriptor.open(path, O_RDONLY), let bytes = try? fd.readAll(limit: limit) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `net.ipv4.tcp_tw_reuse` → the text of /proc/sys/net/ipv4/tcp_tw_reuse.
    public static func read(_ name: String) -> String? { readFile(TCPSysctls.procPath(name)) }

    /// Every sysctl doctor audits: raw text by name (nil: absent), and the parsed values.
    public static func readTCP() -> (raw: [String: String?], values: TCPSysctls) {
        var raw: [String: String?] = [:]
        var present: [String: String] = [:]
        for name in TCPSysctls.names {
            let v = read(name)
            raw[name] = .some(v)
            if let v { present[name] = v }
        }
        return (raw, TCPSysctls(raw: present))
    }

    /// `ip_local_port_range`, or the kernel default when unreadable.
    public static func localPortRange() -> PortRange {
        TCPSysctls(raw: ["net.ipv4.ip_local_port_range": read("net.ipv4.ip_local_port_range") ?? ""]).ipLocalPortRange
            ?? .linuxDefault
    }

    /// The same in another network namespace (the sysctl is per namespace).
    public static func localPortRange(in ns: NetworkNamespace) -> PortRange {
        if ns.isOwn { return localPortRange() }
        let fd = tcptrace_open_in_netns(ns.path, TCPSysctls.procPath("net.ipv4.ip_local_port_range"))
        guard fd >= 0 else { return localPortRange() }
        let file = FileDescriptor(adopting: fd)
        let text = (try? file.readAll(limit: 256)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return TCPSysctls(raw: ["net.ipv4.ip_local_port_range": text]).ipLocalPortRange ?? .linuxDefault
    }

    /// `net.ipv4.ip_unprivileged_port_start`: binding below it needs CAP_NET_BIND_SERVICE.
    public static var unprivilegedPortStart: Int? {
        readFile("/proc/sys/net/ipv4/ip_unprivileged_port_start").flatMap { Int($0.filter { !$0.isWhitespace }) }
    }

    /// TcpExt counters from /proc/net/netstat.
    public static func tcpExtCounters() -> TCPExtCounters {
        readFile("/proc/net/netstat").map { TCPExtCounters(procNetNetstat: $0) } ?? TCPExtCounters()
    }
}
