import TcptraceHost
import TcptraceKernel

/// What a run does for running as a service: giving up the capabilities it no longer needs once
/// attached, and reopening its output file on SIGHUP (logrotate).
extension TraceRun {
    /// What the periodic work still uses: /proc/PID/fd and ns/net of other users (lingerer
    /// holders, namespace discovery) and, unless the run stays in its own network namespace,
    /// setns into new ones for sock_diag. CAP_BPF stays only where reading the counters needs it.
    /// CAP_SYS_NICE stays for `--catch-up` (raising the consumer's priority while it is behind).
    func dropPrivileges(_ tracer: Tracer) {
        var needed: Capabilities = [.sysPtrace, .dacReadSearch]
        if namespaces.only?.isOwn != true { needed.insert(.sysAdmin) }
        if settings.catchUp != .off { needed.insert(.sysNice) }
        do {
            let outcome = try LeastPrivilege.reduce(keeping: needed, conditional: .bpf, ifFailingWithout: tracer.countersReadable)
            if settings.verbose {
                printError(
                    "capabilities after attach: \(outcome.kept); bounding set: \(outcome.bounding); no_new_privs set")
            }
        } catch {
            printError("could not drop capabilities (\(error)); running with those it started with")
        }
    }

    /// SIGHUP: the buffered lines go to the old file, then the path is opened again. A failed
    /// open (a link planted at the path, a FIFO, a missing directory) is said once, not again
    /// for the same reason until a reopen works, and the run goes on writing to the file it had:
    /// nothing is lost, and the next SIGHUP tries again. On standard output, nothing happens,
    /// unless it is a terminal: there SIGHUP is the hangup it is named for, and the output is
    /// gone as a closed pipe is.
    func reopenOutput() {
        if writer.path == nil {
            if writer.isTerminal { outputError = .closed }
            return
        }
        do {
            if let e = try writer.reopen() {
                if reopenRefusal != e {
                    printError("reopening output file \(e.path) failed: \(e.reason); still writing to the file opened before")
                }
                reopenRefusal = e
            } else {
                reopenRefusal = nil
                if emitTransitions && writer.isEmptyFile {
                    sink.appendTransitionHeader(to: &writer.buffer)  // text: a new file starts with its column header
                }
            }
        } catch {
            outputError = error
        }
    }
}
