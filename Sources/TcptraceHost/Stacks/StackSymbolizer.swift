import CTcptraceHost
import Glibc

/// User addresses to `module!function+0xoff`, in user space and only for the stacks of
/// lingerers' openers (never per event): /proc/PID/maps gives the file and its offset, the
/// file's program headers the load bias, its `.symtab` (else `.dynsym`) the function. Files are
/// cached by device and inode, bounded in number and in symbols each.
public final class StackSymbolizer {
    struct Mapping {
        var start: UInt64
        var end: UInt64
        var offset: UInt64
        var executable: Bool
        var device: String
        var inode: UInt64
        var path: String
        var module: Substring { path.split(separator: "/").last ?? Substring(path) }
    }

    struct Symbol {
        var start: UInt64
        var size: UInt64
        var name: String
    }

    struct Binary {
        var segments: [tcptrace_elf_segment]
        var symbols: [Symbol]  // sorted by start
    }

    struct BinaryKey: Hashable {
        var device: String
        var inode: UInt64
    }

    public static let maxBinaries = 64
    public static let maxSymbolsPerBinary: UInt64 = 500_000
    let procRoot: String
    private var binaries: [BinaryKey: Binary] = [:]
    /// Mappings of the processes asked about since the last `forgetProcesses` (bounded).
    private var maps: [UInt32: [Mapping]] = [:]
    static let maxProcesses = 256

    public init(procRoot: String = "/proc") { self.procRoot = procRoot }

    /// Files cached now (for tests).
    public var cachedBinaries: Int { binaries.count }

    /// Mappings change as processes load and exit: read afresh in the next round.
    public func forgetProcesses() { maps.removeAll(keepingCapacity: true) }

    /// The frames of a stack taken in process `pid`, innermost first. `stackTop`: the words at
    /// the user stack pointer then (a syscall wrapper's return address lies there when the
    /// wrapper has no frame of its own, and the frame-pointer walk skipped its caller).
    public func frames(pid: UInt32, addresses: [UInt64], stackTop: [UInt64] = []) -> [String] {
        guard let m = mappings(of: pid) else { return addresses.map { "[exited]+0x" + String($0, radix: 16) } }
        var addrs = addresses
        if let first = addrs.first, let inner = Self.mapping(first, in: m), Self.isSystemLibrary(inner.module) {
            let next = addrs.count > 1 ? addrs[1] : 0
            if let caller = stackTop.first(where: { w in
                w != next && Self.mapping(w, in: m).map { $0.executable && !Self.isSystemLibrary($0.module) } == true
            }) {
                addrs.insert(caller, at: 1)
            }
        }
        return addrs.enumerated().map { i, a in frame(a, returnAddress: i > 0, in: m) }
    }

    /// The frame that opened the connection: the innermost outside the C library and loader.
    public static func opener(of frames: [String]) -> String? {
        frames.first { f in !isSystemLibrary(Substring(f.prefix { $0 != "!" && $0 != "+" })) }
    }

    static func isSystemLibrary(_ module: Substring) -> Bool {
        module.hasPrefix("libc.so") || module.hasPrefix("libc-") || module.hasPrefix("ld-linux") || module.hasPrefix("libpthread")
            || module == "[exited]" || module == "[unknown]"
    }

    func frame(_ address: UInt64, returnAddress: Bool, in maps: [Mapping]) -> String {
        guard let m = Self.mapping(address, in: maps) else { return "[unknown]+0x" + String(address, radix: 16) }
        let fileOffset = address - m.start + m.offset
        let module = String(m.module)
        guard m.inode != 0, let b = binary(m) else { return module + "+0x" + String(fileOffset, radix: 16) }
        // The load bias: the segment holding this file offset maps it to an ELF address.
        guard let seg = b.segments.first(where: { fileOffset >= $0.offset && fileOffset < $0.offset + max($0.filesz, 1) }) else {
            return module + "+0x" + String(fileOffset, radix: 16)
        }
        let vaddr = fileOffset - seg.offset + seg.vaddr
        // A return address may point just past its function (a call as the last instruction).
        let probe = returnAddress ? vaddr - 1 : vaddr
        if let s = Self.symbol(probe, in: b.symbols) {
            return module + "!" + s.name + "+0x" + String(vaddr - s.start, radix: 16)
        }
        return module + "+0x" + String(fileOffset, radix: 16)
    }

    static func mapping(_ address: UInt64, in maps: [Mapping]) -> Mapping? {
        var lo = 0
        var hi = maps.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if maps[mid].end <= address { lo = mid + 1 } else { hi = mid }
        }
        return lo < maps.count && maps[lo].start <= address ? maps[lo] : nil
    }

    static func symbol(_ vaddr: UInt64, in symbols: [Symbol]) -> Symbol? {
        var lo = 0
        var hi = symbols.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if symbols[mid].start <= vaddr { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let s = symbols[lo - 1]
        return s.size == 0 || vaddr < s.start + s.size ? s : nil
    }

    func mappings(of pid: UInt32) -> [Mapping]? {
        if let m = maps[pid] { return m }
        guard let text = Sysctl.readFile("\(procRoot)/\(pid)/maps", limit: 8 << 20) else { return nil }
        var out: [Mapping] = []
        for line in text.split(separator: "\n") {
            // start-end perms offset dev inode path
            let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard f.count >= 5 else { continue }
            let range = f[0].split(separator: "-")
            guard range.count == 2, let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
                let offset = UInt64(f[2], radix: 16), let inode = UInt64(f[4])
            else { continue }
            let path = f.count > 5 ? String(f[5].drop(while: { $0 == " " })) : ""
            out.append(
                Mapping(start: start, end: end, offset: offset, executable: f[1].contains("x"), device: String(f[3]), inode: inode, path: path))
        }
        if maps.count >= Self.maxProcesses { maps.removeAll(keepingCapacity: true) }
        out.sort { $0.start < $1.start }
        maps[pid] = out
        return out
    }

    /// The file's segments and symbols, read once; by `/proc/PID/root` so a container's own
    /// files are read, not the host's of the same name. Nil when it cannot be read.
    func binary(_ m: Mapping) -> Binary? {
        let key = BinaryKey(device: m.device, inode: m.inode)
        if let b = binaries[key] { return b }
        guard m.path.hasPrefix("/") else { return nil }
        var pidPath: String?
        for (pid, ms) in maps where ms.contains(where: { $0.inode == m.inode && $0.device == m.device }) {
            pidPath = "\(procRoot)/\(pid)/root\(m.path)"
            break
        }
        let path = pidPath ?? m.path
        final class Collected { var symbols: [Symbol] = [] }
        let collected = Collected()
        var segments = [tcptrace_elf_segment](repeating: tcptrace_elf_segment(), count: 16)
        var n: Int32 = 0
        let rc = withExtendedLifetime(collected) {
            tcptrace_elf_read(
                path, &segments, Int32(segments.count), &n,
                { ctx, value, size, name in
                    let c = Unmanaged<Collected>.fromOpaque(ctx!).takeUnretainedValue()
                    c.symbols.append(Symbol(start: value, size: size, name: String(cString: name!)))
                }, Unmanaged.passUnretained(collected).toOpaque(), Self.maxSymbolsPerBinary)
        }
        guard rc == 0 else { return nil }
        var symbols = collected.symbols
        symbols.sort { ($0.start, $0.size) < ($1.start, $1.size) }
        if binaries.count >= Self.maxBinaries { binaries.removeAll(keepingCapacity: true) }
        let b = Binary(segments: Array(segments.prefix(Int(n))), symbols: symbols)
        binaries[key] = b
        return b
    }
}
