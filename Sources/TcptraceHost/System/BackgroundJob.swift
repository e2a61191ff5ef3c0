import Glibc

/// One piece of slow OS work at a time on a thread of its own (a sock_diag dump of every
/// namespace, say), so the thread that drains the ring buffer never waits for it. `start`
/// hands a job over, `take` collects its output on the caller's thread once it is done, and
/// `wait` blocks until it is. The job must not touch anything the caller's thread uses: it gets
/// its own copies (see `CensusTaker`).
public final class BackgroundJob<Output: Sendable>: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private let finished: UnsafeMutablePointer<pthread_cond_t>
    // Guarded by `lock`.
    private var running = false
    private var output: Output?

    public init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_mutex_t())
        pthread_mutex_init(lock, nil)
        finished = .allocate(capacity: 1)
        finished.initialize(to: pthread_cond_t())
        pthread_cond_init(finished, nil)
    }

    deinit {
        pthread_cond_destroy(finished)
        finished.deallocate()
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    private func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }

    /// Starts `job` on a new thread; false (and nothing started) while the previous job runs or
    /// its output has not been taken.
    public func start(_ job: @escaping @Sendable () -> Output) -> Bool {
        guard locked({ () -> Bool in
            if running || output != nil { return false }
            running = true
            return true
        }) else { return false }
        let body = ThreadBody { [self] in
            let out = job()
            locked {
                output = out
                running = false
                pthread_cond_broadcast(finished)
            }
        }
        let context = Unmanaged.passRetained(body).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { context in
            // Signals (SIGINT, SIGTERM) stay with the thread that polls.
            var all = sigset_t()
            sigfillset(&all)
            pthread_sigmask(SIG_BLOCK, &all, nil)
            Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        if rc != 0 {
            // No thread: do it here rather than not at all.
            Unmanaged<ThreadBody>.fromOpaque(context).takeRetainedValue().run()
            return true
        }
        pthread_detach(thread)
        return true
    }

    /// The finished job's output, once; nil while it runs or when none was started.
    public func take() -> Output? {
        locked {
            defer { output = nil }
            return output
        }
    }

    /// Waits for a running job to finish (its output is then ready to `take`).
    public func wait() {
        locked {
            while running { pthread_cond_wait(finished, lock) }
        }
    }
}

private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
