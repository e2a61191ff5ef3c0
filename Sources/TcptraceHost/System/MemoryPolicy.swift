import CTcptraceHost

/// How this process's allocator is set up, once at start: one arena for every thread.
///
/// glibc gives each new thread an arena of its own, reserved in 64 MB steps, and keeps what the
/// thread freed resident there after it is gone: a census of 131,072 TIME_WAIT sockets on its
/// background thread left ~5 MB resident for the rest of the run. In the shared arena, freed
/// memory serves the ring thread's later allocations instead.
///
/// A fixed mmap threshold (128 KiB) as well took 1.3 MB more off the peak, but a tracer with it
/// lost 1,599 and 3,741 events to a full ring in two 3,000,000-connection storms, where without
/// it none (docs/benchmarks.md): left fixed, every large block is mapped and unmapped each time.
public enum MemoryPolicy {
    public static func apply() {
        _ = tcptrace_malloc_policy()
    }
}
