import Glibc
import TcptraceCore

/// Census rounds taken on a thread of their own, for a live view: a sock_diag dump of a large
/// socket table (0.2-0.4 s at 130,000 sockets here) must not hold up the ring-buffer consumer,
/// which a connection storm fills in that time. The thread has its own diag sockets; the
/// caller picks up the latest round whenever it likes.
public final class BackgroundCensus: @unchecked Sendable {
    private let filter: CensusFilter
    private let only: NetworkNamespace?
    private let intervalNanoseconds: UInt64
    private var mutex = pthread_mutex_t()
    // Guarded by `mutex`.
    private var latest: [Census]?
    private var stopping = false
    private var thread: pthread_t?

    public init(filter: CensusFilter, only: NetworkNamespace?, intervalNanoseconds: UInt64) {
        self.filter = filter
        self.only = only
        self.intervalNanoseconds = intervalNanoseconds
        pthread_mutex_init(&mutex, nil)
    }

    deinit {
        stop()
        pthread_mutex_destroy(&mutex)
    }

    /// Starts the rounds (the first at once); once.
    public func start() {
        guard thread == nil else { return }
        var t = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&t, nil, { arg in
            let census = Unmanaged<BackgroundCensus>.fromOpaque(arg!).takeRetainedValue()
            census.loop()
            return nil
        }, context)
        if rc == 0 {
            thread = t
        } else {
            Unmanaged<BackgroundCensus>.fromOpaque(context).release()
            printError("cannot start the census thread: \(String(cString: strerror(rc)))")
        }
    }

    /// The round finished since the last call, if any.
    public func takeLatest() -> [Census]? {
        locked {
            defer { latest = nil }
            return latest
        }
    }

    /// Ends the rounds and waits for the thread (at most one round and 100 ms).
    public func stop() {
        guard let t = thread else { return }
        locked { stopping = true }
        pthread_join(t, nil)
        thread = nil
    }

    private func loop() {
        let diag = NamespaceDiag(only: only)
        var lastError: String?
        while !locked({ stopping }) {
            let began = SystemClock.monotonicNanoseconds()
            diag.refresh()
            do {
                let round = try CensusSource.takeAll(filter: filter, namespaces: diag.namespaces, sockets: diag.sockets)
                locked { latest = round }
                lastError = nil
            } catch {
                // Said once per kind of failure, not every round.
                if lastError != error.description { printError("census failed: \(error)") }
                lastError = error.description
            }
            while !locked({ stopping }) && SystemClock.monotonicNanoseconds() &- began < intervalNanoseconds {
                var pause = timespec(tv_sec: 0, tv_nsec: 100_000_000)
                nanosleep(&pause, nil)
            }
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}
