/// Why a connect() failed, as the errno the application got. Told from the socket's last
/// transition (`SYN_SENT -> CLOSE`), its local port and `sk_err` (read by the kernel program).
public enum ConnectError: String, Sendable, CaseIterable, Hashable, Comparable {
    /// No free local port for this destination: the socket went `CLOSE -> SYN_SENT -> CLOSE`
    /// without ever getting one (measured on 6.18: one such pair per failed connect()).
    case addressNotAvailable = "EADDRNOTAVAIL"
    /// An RST answered the SYN (tcp_reset sets sk_err before tcp_done).
    case connectionRefused = "ECONNREFUSED"
    /// The SYN retries ran out (tcp_write_err).
    case timedOut = "ETIMEDOUT"
    case hostUnreachable = "EHOSTUNREACH"
    case networkUnreachable = "ENETUNREACH"
    case connectionReset = "ECONNRESET"
    case permissionDenied = "EPERM"
    /// Any other errno the kernel set.
    case other = "other"

    /// From `sk_err` (an errno); nil for 0.
    public init?(errno: UInt16) {
        switch errno {
        case 0: return nil
        case 99: self = .addressNotAvailable
        case 111: self = .connectionRefused
        case 110: self = .timedOut
        case 113: self = .hostUnreachable
        case 101: self = .networkUnreachable
        case 104: self = .connectionReset
        case 1, 13: self = .permissionDenied
        default: self = .other
        }
    }

    /// A client socket's connect() failed when it left `SYN_SENT` for `CLOSE`: with the error the
    /// kernel set, or with none and no local port (no free port was found). A socket closed by
    /// its application while connecting has a port and no error: not a failed connect.
    public static func of(closingFrom old: TCPState, socketError: UInt16, localPort: UInt16) -> ConnectError? {
        guard old == .synSent else { return nil }
        if let e = ConnectError(errno: socketError) { return e }
        return localPort == 0 ? .addressNotAvailable : nil
    }

    public static func < (a: ConnectError, b: ConnectError) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
