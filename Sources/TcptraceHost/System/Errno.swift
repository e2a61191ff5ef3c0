import Glibc

/// A failed system call's errno.
public struct Errno: Error, Equatable, CustomStringConvertible, Sendable {
    public let code: Int32
    public init(_ code: Int32) { self.code = code }
    /// The calling thread's errno now.
    public static var current: Errno { Errno(errno) }
    public var description: String { String(cString: strerror(code)) }
}

/// The one place a system call is retried when a signal interrupts it (EINTR). The stop
/// signals are installed without SA_RESTART, so every blocking call can return early.
@inline(__always)
public func retryingOnInterrupt<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let rc = call()
        if rc >= 0 || errno != EINTR { return rc }
    }
}
