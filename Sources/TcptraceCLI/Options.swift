import ArgumentParser
import TcptraceCore
import TcptraceHost

// Option types and parsing every command shares; no command defines them for the others.

/// `--format`: text for people, JSON lines for machines.
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json
}

/// `--catch-up`: the ring consumer's scheduling while it is behind.
extension CatchUpScheduling: ExpressibleByArgument {}

/// Turns a `ValueParseError` into the parser's one-line error (exit 64).
func parsed<T>(_ body: () throws(ValueParseError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        throw ValidationError(error.description)
    }
}
