import CTcptraceHost
import Glibc
import TcptraceCore

/// Reads a network namespace's local-port settings (`ip_local_port_range`,
/// `ip_local_reserved_ports`, `tcp_tw_reuse`, `tcp_timestamps`: all per namespace) by its inode,
/// as the kernel program reports it. Once per namespace, when its first client connection ends.
public enum NamespacePortsReader {
    /// nil when the namespace cannot be found or its port range not read.
    public static func read(netns: UInt32?) -> NamespacePorts? {
        let own = NetworkNamespaces.own()
        let ns: NetworkNamespace?
        if netns == nil || netns == own?.inode {
            ns = own
        } else {
            ns = NetworkNamespaces.discover().first { $0.inode == netns }
        }
        guard let ns else { return nil }
        return read(in: ns)
    }

    public static func read(in ns: NetworkNamespace) -> NamespacePorts? {
        func text(_ name: String) -> String? {
            if ns.isOwn { return Sysctl.read(name) }
            let fd = tcptrace_open_in_netns(ns.path, TCPSysctls.procPath(name))
            guard fd >= 0 else { return nil }
            let file = FileDescriptor(adopting: fd)
            return (try? file.readAll(limit: 64 << 10)).map { String(decoding: $0, as: UTF8.self) }
        }
        guard let rangeText = text("net.ipv4.ip_local_port_range"),
            let range = TCPSysctls(raw: ["net.ipv4.ip_local_port_range": rangeText]).ipLocalPortRange
        else { return nil }
        let reserved = text("net.ipv4.ip_local_reserved_ports").flatMap { NamespacePorts.reservedCount($0, in: range) } ?? 0
        func int(_ name: String) -> Int? { text(name).flatMap { Int($0.filter { !$0.isWhitespace }) } }
        return NamespacePorts(range: range, reserved: reserved, twReuse: int("net.ipv4.tcp_tw_reuse"), timestamps: int("net.ipv4.tcp_timestamps"))
    }
}
