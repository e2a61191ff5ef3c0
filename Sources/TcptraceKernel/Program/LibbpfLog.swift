import CLibbpf
import Glibc
import TcptraceHost

/// libbpf's messages: passed to standard error with `--verbose`, and the verifier's log of a
/// program the kernel rejected kept, so that a load failure is told from a permission problem
/// and its reason named. libbpf retries a failed load with a log and prints it between
/// "-- BEGIN PROG LOAD LOG --" and "-- END PROG LOAD LOG --" (its own buffer, grown until the
/// whole log fits: a buffer of ours would keep only the head of it before Linux 6.4).
enum LibbpfLog {
    /// The verifier's log of the last program rejected: its name and lines.
    struct Rejection: Equatable {
        var program: String
        var lines: [String]
    }

    /// Lines of the verifier's log `--verbose` prints: its end, where the reason is.
    static let verboseTail = 40

    // Loads happen on one thread at a time (a run loads once; doctor loads one variant after
    // another), and libbpf calls the print function on the loading thread.
    nonisolated(unsafe) private static var verbose = false
    nonisolated(unsafe) private static var rejection: Rejection?

    static func install(verbose: Bool) {
        Self.verbose = verbose
        libbpf_set_print { _, format, args in
            guard let format, let args else { return 0 }
            LibbpfLog.receive(LibbpfLog.formatted(format, args))
            return 0
        }
    }

    /// Forgets the log of an earlier load; returns what the load in between left.
    static func take() -> Rejection? {
        defer { rejection = nil }
        return rejection
    }

    static func receive(_ message: String) {
        if let r = parse(message) {
            rejection = r
            if verbose {
                let tail = r.lines.suffix(verboseTail)
                var text = "libbpf: prog '\(r.program)': the verifier's log, last \(tail.count) of \(r.lines.count) lines:\n"
                for line in tail { text += "  \(line)\n" }
                writeError(text)
            }
            return
        }
        if verbose { writeError(message) }
    }

    private static func writeError(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
    }

    /// The program and log lines of libbpf's "prog 'NAME': -- BEGIN PROG LOAD LOG --" message.
    static func parse(_ message: String) -> Rejection? {
        let begin = "': -- BEGIN PROG LOAD LOG --\n", end = "-- END PROG LOAD LOG --"
        guard let b = message.firstRange(of: begin), let open = message.firstRange(of: "prog '"), open.upperBound <= b.lowerBound else {
            return nil
        }
        let program = String(message[open.upperBound..<b.lowerBound])
        let body = message[b.upperBound...]
        let log = body.firstRange(of: end).map { body[..<$0.lowerBound] } ?? body
        return Rejection(program: program, lines: log.split(separator: "\n", omittingEmptySubsequences: true).map(String.init))
    }

    /// The verifier's reason: the lines after the last instruction it printed, without the
    /// statistics it ends with ("processed N insns ...").
    static func reason(_ lines: [String]) -> String {
        let statistics = ["processed ", "verification time", "stack depth", "max_states_per_insn"]
        let meaningful = lines.filter { line in !statistics.contains { line.hasPrefix($0) } }
        let afterInstruction = meaningful.lastIndex { isInstruction($0) }.map { meaningful.index(after: $0) } ?? 0
        let reason = meaningful[afterInstruction...].prefix(3)
        return reason.isEmpty ? (meaningful.last ?? "no reason in its log") : reason.joined(separator: "; ")
    }

    /// A line of the verifier's instruction trace: "838: (7b) *(u64 *)(r3 +64) = r2".
    static func isInstruction(_ line: String) -> Bool {
        guard let colon = line.firstIndex(of: ":"), colon > line.startIndex else { return false }
        return line[..<colon].allSatisfy(\.isNumber)
    }

    static func formatted(_ format: UnsafePointer<CChar>, _ args: CVaListPointer) -> String {
        var buffer: UnsafeMutablePointer<CChar>? = nil
        var size = 0
        guard let stream = open_memstream(&buffer, &size) else { return "" }
        vfprintf(stream, format, args)
        fclose(stream)
        defer { free(buffer) }
        return buffer.map { String(cString: $0) } ?? ""
    }
}

extension Tracer {
    /// The kernel release, as the error names it.
    static func kernelRelease() -> String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.release) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    }

    /// Why `bpf_object__load` failed with `e`: the verifier rejected a program (it left a log),
    /// or the kernel refused the load for want of privileges, or it lacks what the program needs.
    static func loadError(_ e: Int32, variant: String) -> SystemError {
        let reason = String(cString: strerror(e))
        if let r = LibbpfLog.take() {
            return .verifierRejected(
                "the kernel's verifier (Linux \(kernelRelease())) rejected BPF program \(r.program) (\(variant)): "
                    + "\(LibbpfLog.reason(r.lines)); --verbose prints the end of its log")
        }
        if e == EPERM || e == EACCES {
            return .notPermitted("the kernel refused to load the BPF program (\(reason)): run as root or with CAP_BPF and CAP_PERFMON")
        }
        return .kernelUnsupported(
            "the kernel rejected the BPF program (\(reason)): tcptrace-bpf needs Linux >= 5.12 with BTF, tp_btf, sk_storage and ring buffers; --verbose shows libbpf's log")
    }
}
