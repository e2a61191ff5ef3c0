import Glibc
import TcptraceCore

/// Which process holds a socket, found the way `ss -p` finds it: /proc/PID/fd/N links to
/// `socket:[INODE]`. Scans are whole-host and cost milliseconds, so results are cached and a
/// scan happens only when an inode is asked for that the cache does not hold. Each scan
/// replaces the cache: it holds the sockets open at the last scan, not every socket ever seen
/// (which grew the tracer's memory by megabytes an hour on a host opening connections).
public final class SocketHolders {
    /// Each socket's holder, and the network namespace of the process holding it.
    private var cache: [UInt64: (holder: LingererRecord.Holder, netns: UInt32)] = [:]
    private let procRoot: String
    /// Bound on cached holders (sockets asked for are always kept).
    let maxCached = 65_536

    /// Holders cached now (for tests).
    var cachedCount: Int { cache.count }

    public init(procRoot: String = "/proc") { self.procRoot = procRoot }

    /// Holders of the given inodes; inodes no process holds are absent. With `netns`, a scan
    /// looks only at the processes in those network namespaces (the sockets' own).
    public func holders(of inodes: Set<UInt64>, netns: Set<UInt32>? = nil) -> [UInt64: LingererRecord.Holder] {
        if inodes.contains(where: { cache[$0] == nil }) {
            rescan(wanted: inodes, netns: netns)
        }
        var out: [UInt64: LingererRecord.Holder] = [:]
        for i in inodes { if let h = cache[i]?.holder { out[i] = h } }
        return out
    }

    private func rescan(wanted: Set<UInt64>, netns: Set<UInt32>?) {
        guard let proc = opendir(procRoot) else { return }
        defer { closedir(proc) }
        // What the scan looks at is replaced; a scan limited to some namespaces keeps the others.
        var cache = netns.map { only in self.cache.filter { !only.contains($0.value.netns) } } ?? [:]
        defer { self.cache = cache }
        var link = [CChar](repeating: 0, count: 64)
        while let ent = readdir(proc) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let pid = UInt32(name) else { continue }
            var st = stat()
            guard stat("\(procRoot)/\(name)/ns/net", &st) == 0 else { continue }  // gone, or not ours to see
            let processNetns = UInt32(truncatingIfNeeded: st.st_ino)
            if let netns, !netns.contains(processNetns) { continue }
            let fdDir = "\(procRoot)/\(name)/fd"
            guard let dir = opendir(fdDir) else { continue }  // gone, or not ours to read
            let dfd = dirfd(dir)
            var comm: String?
            while let fdEnt = readdir(dir) {
                let fdName = withUnsafeBytes(of: fdEnt.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                guard let fd = Int32(fdName) else { continue }
                let n = readlinkat(dfd, fdName, &link, link.count - 1)
                guard n > 8 else { continue }
                let target = link.withUnsafeBufferPointer { buf in
                    String(decoding: UnsafeRawBufferPointer(start: buf.baseAddress, count: n), as: UTF8.self)
                }
                guard target.hasPrefix("socket:["), let inode = UInt64(target.dropFirst(8).dropLast()) else { continue }
                guard wanted.contains(inode) || cache.count < maxCached else { continue }
                if comm == nil { comm = Self.readComm("\(procRoot)/\(name)/comm") }
                // The lowest pid wins for a socket shared across fork, as ss lists it first.
                if let existing = cache[inode], existing.holder.process.pid < pid { continue }
                cache[inode] = (.init(process: Owner(pid: pid, comm: CommName(comm ?? "?")), fd: fd), processNetns)
            }
            closedir(dir)
        }
    }

    static func readComm(_ path: String) -> String? {
        guard var s = Sysctl.readFile(path, limit: 64), !s.isEmpty else { return nil }
        if s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}
