import Glibc

/// The one way the tracer creates, truncates, reopens or replaces a file. It runs as root, often
/// writing into directories others can write to (/tmp, a shared log directory), where a local
/// user can plant a symbolic or hard link at a name it is about to open: root would then write
/// through it into any file. So a link at the last component is never followed (O_NOFOLLOW), a
/// regular file with a second name is refused, and so is a regular file another user owns in a
/// sticky directory others can write (planted to be written into: the kernel's
/// fs.protected_regular, which may be off), temporary files have unpredictable names and are
/// created exclusively (O_EXCL), and a file that opens but cannot take a write (/proc/version)
/// is refused at open, not after the program is loaded.
public enum OutputFile {
    public enum OpenError: Error, CustomStringConvertible, Equatable {
        /// The path is a symbolic link: refused, it may have been planted.
        case symbolicLink(path: String)
        /// A regular file with more than one name: refused, a hard link may have been planted.
        case hardLinked(path: String, links: UInt64)
        /// A regular file of another user in a sticky, world-writable directory (/tmp): refused,
        /// it may have been planted there to receive (or be fed) what the tracer writes.
        case plantedFile(path: String, owner: UInt32)
        /// On reopen, something other than a regular file (a FIFO would block the run, a device
        /// is nothing logrotate leaves behind).
        case notRegular(path: String, kind: String)
        /// Opens, but refuses even an empty write (procfs files without a write handler).
        case unwritable(path: String, errno: Errno)
        case failed(path: String, errno: Errno)

        public var path: String {
            switch self {
            case .symbolicLink(let p), .hardLinked(let p, _), .plantedFile(let p, _), .notRegular(let p, _), .unwritable(let p, _),
                .failed(let p, _):
                return p
            }
        }

        /// Why, without the path.
        public var reason: String {
            switch self {
            case .symbolicLink: return "a symbolic link, refused (a link planted there would make root write elsewhere; name the file itself)"
            case .hardLinked(_, let n): return "\(n) hard links, refused (a link planted there would make root write elsewhere)"
            case .plantedFile(_, let uid): return "owned by uid \(uid) in a sticky directory others can write, refused (it may have been planted there)"
            case .notRegular(_, let kind): return "a \(kind), not a regular file, refused"
            case .unwritable(_, let e): return "cannot be written: \(e)"
            case .failed(_, let e): return e.description
            }
        }

        public var description: String { "\(path): \(reason)" }
    }

    /// `--output`, `report --html`: created (mode 0644 less the umask) or truncated, or with
    /// `append` kept and appended to. A FIFO or device the user names is taken as it is.
    public static func open(_ path: String, append: Bool) throws(OpenError) -> FileDescriptor {
        let fd = retryingOnInterrupt { Glibc.open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC | (append ? O_APPEND : 0), 0o644) }
        if fd < 0 { throw refusal(path) }
        do throws(OpenError) {
            let st = try check(fd, path, regularOnly: false)
            // Truncated only once it is known to be ours to truncate.
            if !append && (st.st_mode & S_IFMT) == S_IFREG && ftruncate(fd, 0) != 0 { throw OpenError.failed(path: path, errno: .current) }
        } catch {
            Glibc.close(fd)
            throw error
        }
        return FileDescriptor(adopting: fd)
    }

    /// SIGHUP after logrotate renamed the file: the path opened again for appending, or created
    /// (with `mode`) when missing. Never blocks: a FIFO planted there is refused, not waited on.
    public static func reopen(_ path: String, mode: mode_t) throws(OpenError) -> FileDescriptor {
        let flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC
        var fd: Int32 = -1
        for _ in 0..<3 where fd < 0 {
            fd = retryingOnInterrupt { Glibc.open(path, flags) }
            if fd < 0 && errno == ENOENT {
                fd = retryingOnInterrupt { Glibc.open(path, flags | O_CREAT | O_EXCL, mode) }
                if fd < 0 && errno == EEXIST { continue }  // created by someone else in between: opened (and checked) next
            }
            if fd < 0 { throw refusal(path) }
        }
        if fd < 0 { throw .failed(path: path, errno: Errno(EEXIST)) }
        do throws(OpenError) {
            _ = try check(fd, path, regularOnly: true)
        } catch {
            Glibc.close(fd)
            throw error
        }
        let flagsNow = fcntl(fd, F_GETFL)
        if flagsNow >= 0 { _ = fcntl(fd, F_SETFL, flagsNow & ~O_NONBLOCK) }  // writes block again
        return FileDescriptor(adopting: fd)
    }

    /// Why opening `path` failed: a link or special file there is named as such (O_NOFOLLOW says
    /// ELOOP, or EACCES for another user's link in a sticky directory; a FIFO without a reader
    /// opened non-blocking says ENXIO).
    private static func refusal(_ path: String) -> OpenError {
        let e = Errno.current
        var st = stat()
        if lstat(path, &st) == 0 {
            let type = st.st_mode & S_IFMT
            if type == S_IFLNK { return .symbolicLink(path: path) }
            if e.code == ENXIO && type != S_IFREG { return .notRegular(path: path, kind: kindName(type)) }
        }
        return .failed(path: path, errno: e)
    }

    /// `--metrics-textfile`: the whole file replaced at once, so a reader never sees half of it.
    /// Written to a new file of an unpredictable name in the same directory (created with
    /// O_EXCL: a link planted at that name is never followed), then renamed over `path` (which
    /// replaces a link there instead of following it). Its mode is `mode` whatever the umask:
    /// the collector reading it runs as another user.
    public static func replace(_ path: String, with bytes: [UInt8], mode: mode_t = 0o644) throws(OpenError) {
        var temporary = ""
        let file = try createTemporary(beside: path, mode: mode, name: &temporary)
        if fchmod(file.raw, mode) != 0 {
            let e = Errno.current
            unlink(temporary)
            throw .failed(path: path, errno: e)
        }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { b in retryingOnInterrupt { Glibc.write(file.raw, b.baseAddress! + done, b.count - done) } }
            if n < 0 {
                let e = Errno.current
                unlink(temporary)
                throw .failed(path: path, errno: e)
            }
            done += n
        }
        if rename(temporary, path) != 0 {
            let e = Errno.current
            unlink(temporary)
            throw .failed(path: path, errno: e)
        }
    }

    /// A new file `path.<random>.tmp`, created exclusively (three names tried).
    private static func createTemporary(beside path: String, mode: mode_t, name temporary: inout String) throws(OpenError) -> FileDescriptor {
        var attempts = 0
        while true {
            attempts += 1
            temporary = "\(path).\(randomName()).tmp"  // the textfile collector reads only *.prom
            do {
                return try FileDescriptor.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY, mode: mode)
            } catch {
                if error.code != EEXIST || attempts >= 3 { throw .failed(path: path, errno: error) }
            }
        }
    }

    /// 128 random bits in hex: nobody can plant a link at a name they cannot guess.
    static func randomName() -> String {
        var g = SystemRandomNumberGenerator()
        return [g.next(), g.next()].map { (n: UInt64) in
            let hex = String(n, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// What an opened path must be before anything is written to it: one name only if it is a
    /// regular file, a regular file at all if `regularOnly`, and writable (an empty write).
    private static func check(_ fd: Int32, _ path: String, regularOnly: Bool) throws(OpenError) -> stat {
        var st = stat()
        if fstat(fd, &st) != 0 { throw .failed(path: path, errno: .current) }
        let type = st.st_mode & S_IFMT
        if type == S_IFREG {
            if st.st_nlink > 1 { throw .hardLinked(path: path, links: UInt64(st.st_nlink)) }
            if st.st_uid != geteuid() && inSharedStickyDirectory(path) { throw .plantedFile(path: path, owner: st.st_uid) }
        } else if regularOnly {
            throw .notRegular(path: path, kind: kindName(type))
        }
        var none: UInt8 = 0
        if Glibc.write(fd, &none, 0) < 0 { throw .unwritable(path: path, errno: .current) }
        return st
    }

    /// Whether `path`'s directory is sticky and writable by others (like /tmp), where files
    /// of other users may have been planted.
    static func inSharedStickyDirectory(_ path: String) -> Bool {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        var st = stat()
        return stat(directory, &st) == 0 && st.st_mode & S_ISVTX != 0 && st.st_mode & 0o002 != 0
    }

    /// What a file of type `type` (`st_mode & S_IFMT`) is, in words.
    static func kindName(_ type: mode_t) -> String {
        switch type {
        case S_IFREG: return "regular file"
        case S_IFIFO: return "FIFO"
        case S_IFCHR: return "character device"
        case S_IFBLK: return "block device"
        case S_IFSOCK: return "socket"
        case S_IFDIR: return "directory"
        default: return "special file"
        }
    }
}
