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

    /// One ring record of either kind, its transitions handed to `deliver` oldest first.
    /// Returns false as soon as `deliver` does (the rest are not delivered).
    @inline(__always)
    public static func decodeRecord(
        _ raw: UnsafeRawBufferPointer, clock: MonotonicToWall, deliver: (consuming Transition) -> Bool
    ) throws(DecodeError) -> Bool {
        guard raw.count >= eventSize, let base = raw.baseAddress else { throw .short(size: raw.count) }
        let kind = base.loadUnaligned(fromByteOffset: MemoryLayout<tcptrace_event>.offset(of: \.kind)!, as: UInt32.self)
        if kind == TCPTRACE_KIND_TRANSITION.rawValue { return deliver(try decode(raw, clock: clock)) }
        guard kind == TCPTRACE_KIND_BATCH.rawValue else { throw .unknownKind(kind) }
        guard raw.count >= batchSize else { throw .short(size: raw.count) }
        return try decodeBatch(base.loadUnaligned(as: tcptrace_batch.self), clock: clock, deliver: deliver)
    }

    /// A batch (aggregated mode): its earlier transitions carry the states and the time; the
    /// socket's identity, owner and inode are the last transition's, which the table would have
    /// ended up with anyway (it keeps the latest known value of each). The task in context of
    /// an earlier transition is not recorded (pid 0, empty comm): only transition lines show it,
    /// and they are not printed in this mode.
    static func decodeBatch(
        _ b: tcptrace_batch, clock: MonotonicToWall, deliver: (consuming Transition) -> Bool
    ) throws(DecodeError) -> Bool {
        let last = try transition(b.last, clock: clock)
        let n = min(Int(b.n_before), Int(TCPTRACE_BATCH_MAX) - 1)
        var entered: UInt64? = b.entered_known != 0 ? b.entered_ns : nil
        let delivered = withUnsafeBytes(of: b.ts_ns) { ts in
            withUnsafeBytes(of: b.oldstate) { olds in
                withUnsafeBytes(of: b.newstate) { news in
                    for i in 0..<n {
                        let at = ts.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                        var t = last
                        t.time = clock.wall(at)
                        t.old = TCPState(rawValue: olds[i])
                        t.new = TCPState(rawValue: news[i])
                        t.nanosecondsInOld = entered.map { at &- $0 }
                        t.pid = 0
                        t.comm = CommName()
                        t.receiveQueue = nil
                        t.counters = nil
                        if !deliver(t) { return false }
                        entered = at
                    }
                    return true
                }
            }
        }
        return delivered && deliver(last)
    }

    /// One transition record; the comm fields stay fixed bytes (`CommName`), checked only for ASCII.
    public static func decode(_ raw: UnsafeRawBufferPointer, clock: MonotonicToWall) throws(DecodeError) -> Transition {
        guard raw.count >= eventSize, let base = raw.baseAddress else { throw .short(size: raw.count) }
        let e = base.loadUnaligned(as: tcptrace_event.self)
        guard e.kind == TCPTRACE_KIND_TRANSITION.rawValue else { throw .unknownKind(e.kind) }
        return try transition(e, clock: clock)
    }

    @inline(__always)
    static func transition(_ e: tcptrace_event, clock: MonotonicToWall) throws(DecodeError) -> Transition {
        let family: AddressFamily
        switch e.family {
        case afInet: family = .ipv4
        case afInet6: family = .ipv6
        default: throw .unknownFamily(e.family)
        }
        let flags = e.flags
        func has(_ f: tcptrace_event_flag) -> Bool { flags & f.rawValue != 0 }
        var t = Transition(
            time: clock.wall(e.ts_ns),
            identity: SocketIdentity(
                cookie: e.cookie, local: address(family, e.saddr), localPort: e.lport, remote: address(family, e.daddr),
                remotePort: e.rport, netns: has(TCPTRACE_F_HAS_NETNS) ? e.netns : nil,
                cgroup: has(TCPTRACE_F_HAS_CGROUP) ? e.cgroup_id : nil),
            old: TCPState(rawValue: e.oldstate),
            new: TCPState(rawValue: e.newstate),
            nanosecondsInOld: has(TCPTRACE_F_HAS_OLD_DURATION) ? e.ns_in_old : nil,
            pid: e.pid,
            comm: CommName(kernel: e.comm))
        if has(TCPTRACE_F_HAS_OWNER) {
            t.owner = Owner(pid: e.owner_pid, comm: CommName(kernel: e.owner_comm))
        }
        if has(TCPTRACE_F_HAS_INODE) { t.inode = e.inode }
        if has(TCPTRACE_F_HAS_RCV_QUEUE) { t.receiveQueue = e.rcv_queue }
        if has(TCPTRACE_F_HAS_STATS) {
            t.counters = TCPCounters(
                bytesAcked: e.bytes_acked, bytesReceived: e.bytes_received,
                totalRetransmissions: e.total_retrans, smoothedRTTMicroseconds: e.srtt_us)
        }
        return t
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
