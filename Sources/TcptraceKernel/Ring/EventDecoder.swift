import CTcptraceProgram
import TcptraceCore
import TcptraceHost

public enum DecodeError: Error, Equatable {
    case short(size: Int)
    case unknownFamily(UInt16)
    case unknownKind(UInt32)
}

/// Raw ring-buffer records (struct tcptrace_event and struct tcptrace_batch, bpf/tcptrace.h) to
/// `Transition`s.
public enum EventDecoder {
    public static let eventSize = MemoryLayout<tcptrace_event>.size
    public static let batchSize = MemoryLayout<tcptrace_batch>.size
    static let afInet: UInt16 = 2
    static let afInet6: UInt16 = 10

    /// Whether a record is a batch (aggregated mode) rather than one transition.
    @inline(__always)
    public static func isBatch(_ raw: UnsafeRawBufferPointer) throws(DecodeError) -> Bool {
        guard raw.count >= eventSize, let base = raw.baseAddress else { throw .short(size: raw.count) }
        let kind = base.loadUnaligned(fromByteOffset: MemoryLayout<tcptrace_event>.offset(of: \.kind)!, as: UInt16.self)
        if UInt32(kind) == TCPTRACE_KIND_TRANSITION.rawValue { return false }
        if UInt32(kind) == TCPTRACE_KIND_BATCH.rawValue { return true }
        throw .unknownKind(UInt32(kind))
    }

    /// One ring record of either kind, its transitions handed to `deliver` oldest first.
    /// Returns false as soon as `deliver` does (the rest are not delivered).
    public static func decodeRecord(
        _ raw: UnsafeRawBufferPointer, clock: MonotonicToWall, deliver: (consuming Transition) -> Bool
    ) throws(DecodeError) -> Bool {
        guard try isBatch(raw) else { return deliver(try decode(raw, clock: clock)) }
        let b = try decodeBatch(raw, clock: clock)
        var t = b.last
        for i in 0..<b.count {
            b.load(i, into: &t)
            if !deliver(t) { return false }
        }
        return true
    }

    /// A batch record (aggregated mode, struct tcptrace_batch): the earlier transitions' times
    /// and durations (each from the time before it), and the last one in full.
    public static func decodeBatch(_ raw: UnsafeRawBufferPointer, clock: MonotonicToWall) throws(DecodeError) -> TransitionBatch {
        guard raw.count >= batchSize, let base = raw.baseAddress else { throw .short(size: raw.count) }
        let r = base.loadUnaligned(as: tcptrace_batch.self)
        guard UInt32(r.last.kind) == TCPTRACE_KIND_BATCH.rawValue else { throw .unknownKind(UInt32(r.last.kind)) }
        var b = TransitionBatch(last: try withUnsafePointer(to: r.last) { e throws(DecodeError) in try transition(e, clock: clock) })
        let n = min(Int(r.n_before), TransitionBatch.maxEarlier, Int(TCPTRACE_BATCH_MAX) - 1)
        var entered: UInt64? = r.entered_known != 0 ? r.entered_ns : nil
        withUnsafeBytes(of: r.ts_ns) { ts in
            withUnsafeBytes(of: r.oldstate) { olds in
                withUnsafeBytes(of: r.newstate) { news in
                    for i in 0..<n {
                        let at = ts.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                        b.appendEarlier(
                            .init(
                                old: TCPState(rawValue: olds[i]), new: TCPState(rawValue: news[i]), time: clock.wall(at),
                                nanosecondsInOld: entered.map { at &- $0 }))
                        entered = at
                    }
                }
            }
        }
        return b
    }

    /// One transition record; the comm fields stay fixed bytes (`CommName`), checked only for ASCII.
    public static func decode(_ raw: UnsafeRawBufferPointer, clock: MonotonicToWall) throws(DecodeError) -> Transition {
        guard raw.count >= eventSize, let base = raw.baseAddress else { throw .short(size: raw.count) }
        // Fields read where they are (a ring record is 8-byte aligned), not the whole record
        // copied first; an unaligned buffer is copied.
        guard Int(bitPattern: base) % MemoryLayout<tcptrace_event>.alignment == 0 else {
            let copy = base.loadUnaligned(as: tcptrace_event.self)
            guard UInt32(copy.kind) == TCPTRACE_KIND_TRANSITION.rawValue else { throw .unknownKind(UInt32(copy.kind)) }
            return try withUnsafePointer(to: copy) { e throws(DecodeError) in try transition(e, clock: clock) }
        }
        let e = base.assumingMemoryBound(to: tcptrace_event.self)
        guard UInt32(e.pointee.kind) == TCPTRACE_KIND_TRANSITION.rawValue else { throw .unknownKind(UInt32(e.pointee.kind)) }
        return try transition(e, clock: clock)
    }

    @inline(__always)
    static func transition(_ e: UnsafePointer<tcptrace_event>, clock: MonotonicToWall) throws(DecodeError) -> Transition {
        let family: AddressFamily
        switch e.pointee.family {
        case afInet: family = .ipv4
        case afInet6: family = .ipv6
        default: throw .unknownFamily(e.pointee.family)
        }
        let flags = e.pointee.flags
        func has(_ f: tcptrace_event_flag) -> Bool { flags & f.rawValue != 0 }
        var t = Transition(
            time: clock.wall(e.pointee.ts_ns),
            identity: SocketIdentity(
                cookie: e.pointee.cookie, local: address(family, e.pointee.saddr), localPort: e.pointee.lport,
                remote: address(family, e.pointee.daddr), remotePort: e.pointee.rport, netns: has(TCPTRACE_F_HAS_NETNS) ? e.pointee.netns : nil,
                cgroup: has(TCPTRACE_F_HAS_CGROUP) ? e.pointee.cgroup_id : nil),
            old: TCPState(rawValue: e.pointee.oldstate),
            new: TCPState(rawValue: e.pointee.newstate),
            nanosecondsInOld: has(TCPTRACE_F_HAS_OLD_DURATION) ? e.pointee.ns_in_old : nil,
            pid: e.pointee.pid,
            comm: comm(e, at: MemoryLayout<tcptrace_event>.offset(of: \.comm)!))
        if has(TCPTRACE_F_HAS_OWNER) {
            t.owner = Owner(pid: e.pointee.owner_pid, comm: comm(e, at: MemoryLayout<tcptrace_event>.offset(of: \.owner_comm)!))
        }
        if has(TCPTRACE_F_HAS_INODE) { t.inode = e.pointee.inode }
        if has(TCPTRACE_F_GAP) { t.afterGap = true }
        if has(TCPTRACE_F_HAS_RCV_QUEUE) { t.receiveQueue = e.pointee.rcv_queue }
        if has(TCPTRACE_F_HAS_STATS) {
            t.counters = TCPCounters(
                bytesAcked: e.pointee.bytes_acked, bytesReceived: e.pointee.bytes_received,
                totalRetransmissions: e.pointee.total_retrans, smoothedRTTMicroseconds: e.pointee.srtt_us,
                socketError: e.pointee.sk_err)
        }
        return t
    }

    /// A comm field read as two words (not as the 16-`CChar` tuple Swift imports it as).
    @inline(__always)
    static func comm(_ e: UnsafePointer<tcptrace_event>, at offset: Int) -> CommName {
        let p = UnsafeRawPointer(e)
        return CommName(
            kernelWords: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self),
            p.loadUnaligned(fromByteOffset: offset &+ 8, as: UInt64.self))
    }

    typealias AddressBytes = (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    @inline(__always)
    static func address(_ family: AddressFamily, _ b: AddressBytes) -> IPAddress {
        let (high, low) = withUnsafeBytes(of: b) {
            (UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)), UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
        return IPAddress(family: family, high: high, low: low)
    }
}
