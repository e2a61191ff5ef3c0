import CTcptraceHost
import Glibc
import TcptraceCore

/// Finds the network namespaces of this host: every `/proc/PID/ns/net` (deduplicated by
/// device and inode) and every `/run/netns` entry (`ip netns add`, which may hold no process).
public enum NetworkNamespaces {
    /// At most this many namespaces are tracked (a bound, not a limit hosts reach).
    public static let maxNamespaces = 4096

    /// The namespace of this process.
    public static func own(procRoot: String = "/proc") -> NetworkNamespace? {
        var st = stat()
        guard stat("\(procRoot)/self/ns/net", &st) == 0 else { return nil }
        return NetworkNamespace(inode: UInt32(truncatingIfNeeded: st.st_ino), path: "\(procRoot)/self/ns/net", isOwn: true)
    }

    /// Our own namespace first, then the others by inode. Named ones carry their name.
    public static func discover(procRoot: String = "/proc", runNetns: String = "/run/netns") -> [NetworkNamespace] {
        var found: [UInt32: NetworkNamespace] = [:]
        var device: UInt64?
        let mine = own(procRoot: procRoot)
        if let mine {
            found[mine.inode] = mine
            var st = stat()
            if stat(mine.path, &st) == 0 { device = UInt64(st.st_dev) }
        }
        // Named namespaces first, so that a named one keeps its name and a path that stays valid.
        if let dir = opendir(runNetns) {
            defer { closedir(dir) }
            while let ent = readdir(dir), found.count < maxNamespaces {
                let name = withUnsafeBytes(of: ent.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                var st = stat()
                let path = "\(runNetns)/\(name)"
                guard stat(path, &st) == 0, device == nil || UInt64(st.st_dev) == device,
                    tcptrace_namespace_type(path) == CLONE_NEWNET  // a stray file there is not a namespace
                else { continue }
                let inode = UInt32(truncatingIfNeeded: st.st_ino)
                if var known = found[inode] {
                    known.name = known.name ?? name
                    found[inode] = known
                } else {
                    found[inode] = NetworkNamespace(inode: inode, path: path, name: name)
                }
            }
        }
        if let proc = opendir(procRoot) {
            defer { closedir(proc) }
            while let ent = readdir(proc), found.count < maxNamespaces {
                let name = withUnsafeBytes(of: ent.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                guard let first = name.utf8.first, first >= 48 && first <= 57 else { continue }
                let path = "\(procRoot)/\(name)/ns/net"
                var st = stat()
                guard stat(path, &st) == 0, device == nil || UInt64(st.st_dev) == device else { continue }  // gone, or not ours to see
                let inode = UInt32(truncatingIfNeeded: st.st_ino)
                if found[inode] == nil { found[inode] = NetworkNamespace(inode: inode, path: path) }
            }
        }
        return found.values.sorted { ($0.isOwn ? 0 : 1, $0.inode) < ($1.isOwn ? 0 : 1, $1.inode) }
    }

    /// The namespace a `--netns` value names: an inode, a path (`/run/netns/x`,
    /// `/proc/PID/ns/net`), an `ip netns` name, or `host` (our own). A path must be a network
    /// namespace (nsfs, NS_GET_NSTYPE): any other file's inode would become the kernel filter
    /// and match nothing.
    public static func resolve(_ spec: String, among all: [NetworkNamespace]) throws(SystemError) -> NetworkNamespace {
        if spec == "host", let own = all.first(where: { $0.isOwn }) { return own }
        if let inode = UInt32(spec) {
            guard let known = all.first(where: { $0.inode == inode }) else {
                throw .notFound("--netns \(spec): no network namespace with this inode on this host")
            }
            return known
        }
        if let named = all.first(where: { $0.name == spec }) { return named }
        var st = stat()
        guard stat(spec, &st) == 0 else {
            let e = Errno.current
            throw .notFound(
                e.code == ENOENT
                    ? "--netns \(spec): no such network namespace (neither an `ip netns` name nor a path)"
                    : "--netns \(spec): cannot read it: \(e)")
        }
        let type = tcptrace_namespace_type(spec)
        guard type == CLONE_NEWNET else {
            let what = type < 0 ? "cannot open it: \(Errno(-type))" : "not a network namespace (\(type == 0 ? "a " + OutputFile.kindName(st.st_mode & S_IFMT) : "a namespace of another kind"))"
            throw .notFound("--netns \(spec): \(what); give /proc/PID/ns/net, /run/netns/NAME, an inode or an `ip netns` name")
        }
        let inode = UInt32(truncatingIfNeeded: st.st_ino)
        return all.first { $0.inode == inode } ?? NetworkNamespace(inode: inode, path: spec)
    }
}
