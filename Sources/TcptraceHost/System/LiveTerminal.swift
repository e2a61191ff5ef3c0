import CTcptraceHost
import Glibc

/// The terminal `top` draws on: standard output when it is a terminal (then the alternate
/// screen, cbreak input, resizes noted), otherwise plain frames on standard output; keys from
/// standard input without ever blocking.
public final class LiveTerminal {
    /// Standard output is a terminal: frames redraw one screen.
    public let isScreen: Bool
    /// Whether keys are read: on a screen (cbreak), or from a pipe or file (`echo q |`). Not
    /// from a terminal whose screen is not ours (output redirected): a background job reading
    /// it would be stopped (SIGTTIN).
    private var readsKeys: Bool
    private var entered = false

    public init() {
        isScreen = isatty(1) == 1
        readsKeys = isScreen || isatty(0) == 0
    }

    deinit { leave() }

    /// `NO_COLOR` present and not empty (no-color.org), or standard output not a terminal.
    public var wantsColor: Bool {
        guard isScreen else { return false }
        if let v = getenv("NO_COLOR"), v.pointee != 0 { return false }
        return true
    }

    /// Switches to the alternate screen and cbreak input (on a screen only; once).
    public func enter() throws(SystemError) {
        guard isScreen, !entered else { return }
        let rc = tcptrace_terminal_enter()
        if rc < 0 { throw .call("tcsetattr", errno: -rc) }
        entered = true
    }

    /// Back to the screen and input mode as they were; what went to standard error meanwhile
    /// is written out now. Safe to call more than once.
    public func leave() {
        guard entered else { return }
        tcptrace_terminal_leave()
        entered = false
    }

    /// Rows and columns: the terminal's; elsewhere `COLUMNS` (default 80) and no row limit.
    public var size: (rows: Int?, columns: Int) {
        var rows: UInt16 = 0, columns: UInt16 = 0
        if isScreen, tcptrace_terminal_size(1, &rows, &columns) == 0, rows > 0, columns > 0 {
            return (Int(rows), Int(columns))
        }
        let fallback = getenv("COLUMNS").flatMap { Int(String(cString: $0)) }.flatMap { $0 > 0 ? $0 : nil }
        return (nil, fallback ?? 80)
    }

    /// Whether the window changed size since the last call (SIGWINCH).
    public func takeResized() -> Bool { tcptrace_terminal_take_resized() != 0 }

    /// The bytes typed since the last call; never waits. End of input stops the reading.
    public func readKeys() -> [UInt8] {
        guard readsKeys else { return [] }
        var keys: [UInt8] = []
        var p = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        while keys.count < 256, poll(&p, 1, 0) == 1 {
            var buf = [UInt8](repeating: 0, count: 64)
            let n = retryingOnInterrupt { read(0, &buf, buf.count) }
            if n <= 0 {
                readsKeys = false
                break
            }
            keys += buf[..<n]
        }
        return keys
    }
}
