import ArgumentParser
import TcptraceCore
import TcptraceHost

/// Writes what is buffered; a closed pipe ends quietly, other errors exit 74.
func finishOutput(_ writer: LineWriter) throws {
    do {
        try writer.flush()
    } catch OutputError.closed {
        return
    } catch {
        printError("cannot write output: \(error)")
        throw ExitCode(ExitStatus.ioError.rawValue)
    }
}
