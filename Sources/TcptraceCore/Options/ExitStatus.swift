/// Process exit codes, after BSD sysexits.h: each failure class has its own.
public enum ExitStatus: Int32, Sendable {
    case success = 0
    /// Bad flags or values (EX_USAGE).
    case usage = 64
    /// Input data malformed (EX_DATAERR).
    case dataError = 65
    /// An input file could not be opened (EX_NOINPUT).
    case noInput = 66
    /// The kernel lacks what the tracer needs: BTF, the tracepoint, tp_btf (EX_UNAVAILABLE).
    case unavailable = 69
    /// The kernel's verifier rejected the BPF program (EX_SOFTWARE: the program, not the host or
    /// the user, is at fault on this kernel).
    case verifierRejected = 70
    /// An operating-system call failed (EX_OSERR).
    case osError = 71
    /// The output file cannot be created or written (EX_CANTCREAT).
    case cannotCreate = 73
    /// An I/O error while writing output (EX_IOERR).
    case ioError = 74
    /// `--metrics-address` cannot be listened on: in use, or not an address of this host
    /// (EX_TEMPFAIL: free it or pick another, then retry).
    case cannotListen = 75
    /// A capability the run needs is missing (EX_NOPERM).
    case noPermission = 77
}
