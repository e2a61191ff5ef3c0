import CTcptraceHost
import TcptraceCore

/// /proc/net/netstat of each network namespace: the kernel's own TcpExt counters there (listen
/// queue overflows and drops). Another namespace's is opened from inside it, on a short-lived
/// thread (`setns`), through /proc/thread-self/net (which follows the thread's namespace).
public enum NetstatReader {
    public struct Unreadable: Error, Sendable, CustomStringConvertible {
        public var description: String
    }
    /// The counters, or why they could not be read (the file, one line).
    public static func read(in ns: NetworkNamespace?) -> Result<TCPExtCounters, NetstatReader.Unreadable> {
        let text: String?
        let path: String
        if let ns, !ns.isOwn {
            path = "/proc/net/netstat in \(ns.path)"
            let fd = tcptrace_open_in_netns(ns.path, "/proc/thread-self/net/netstat")
            guard fd >= 0 else { return .failure(Unreadable(description: "\(path): \(Errno(-fd))")) }
            let file = FileDescriptor(adopting: fd)
            text = (try? file.readAll(limit: 1 << 20)).map { String(decoding: $0, as: UTF8.self) }
        } else {
            path = "/proc/net/netstat"
            text = Sysctl.readFile(path)
        }
        guard let text else { return .failure(Unreadable(description: "\(path): unreadable")) }
        let c = TCPExtCounters(procNetNetstat: text)
        guard c.listenOverflows != nil else { return .failure(Unreadable(description: "\(path): no TcpExt ListenOverflows in it")) }
        return .success(c)
    }
}
