import Glibc
import Synchronization
import TcptraceCore

/// The latest metrics snapshot: published by the consumer thread, read on each scrape. The lock
/// is held only to swap or copy the value (a copy shares storage).
public final class MetricsExchange: Sendable {
    private let latest: Mutex<MetricsSnapshot>

    public init(_ first: MetricsSnapshot) { latest = Mutex(first) }

    public func publish(_ snapshot: consuming MetricsSnapshot) {
        var s = snapshot
        latest.withLock { swap(&$0, &s) }
        _ = s  // the previous snapshot is released here, outside the lock
    }

    public var current: MetricsSnapshot { latest.withLock { $0 } }

    /// The page a scrape gets now.
    public func render() -> String { PrometheusText.render(current, process: ProcessSelf.stats()) }
}
