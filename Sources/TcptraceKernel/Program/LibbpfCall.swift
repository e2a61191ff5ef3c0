import Glibc
import TcptraceHost

/// libbpf's two error conventions, each turned into a typed error naming the operation.
@inline(__always)
func check(_ op: @autoclosure () -> String, _ rc: Int32) throws(SystemError) {
    if rc < 0 { throw .call(op(), errno: -rc) }
}

@inline(__always)
func check<T>(_ op: @autoclosure () -> String, _ pointer: T?) throws(SystemError) -> T {
    guard let pointer else { throw .call(op(), errno: errno) }
    return pointer
}
