import Glibc
import TcptraceCore

/// `--metrics-textfile`: the page for node_exporter's textfile collector, replaced whole each
/// time (`OutputFile.replace`: a new file beside it, renamed over it), so the collector never
/// reads half a page, and a link planted beside it is never followed.
public struct MetricsTextfile: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func write(_ text: String) throws(OutputFile.OpenError) {
        try OutputFile.replace(path, with: Array(text.utf8))
    }
}
