import CTcptraceHost

/// How this process's allocator is set up, once at start.
///
/// - One arena for every thread. glibc gives each new thread an arena of its own, reserved in
///   64 MB steps, and keeps what the thread freed resident there after it is gone: a census of
///   131,072 TIME_WAIT sockets on its background thread left ~5 MB resident for the rest of the
///   run. In the shared arena, freed memory serves the ring thread's later allocations instead.
/// - A fixed mmap threshold of 128 KiB. Left dynamic, glibc raises it to the size of each large
///   block freed, and from then on serves such blocks (a census's tables) from the arena, which
///   keeps them. With it fixed they are mapped on their own and unmapped when freed.
public enum MemoryPolicy {
    public static let mmapThresholdBytes: Int32 = 128 << 10

    public static func apply() {
        _ = tcptrace_malloc_policy(mmapThresholdBytes)
    }
}
