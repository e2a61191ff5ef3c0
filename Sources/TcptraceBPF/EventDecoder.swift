import CTcptrace
import TcptraceCore

public enum DecodeError: Error, Equatable {
    case short(size: Int)
    case unknownFamily(UInt16)
}

/// Raw ring-buffer records (struct tcptrace_event, bpf/tcptrace.h) to `Transition`s.
public enum EventDecoder {
    public static let eventSize = MemoryLayout<tcptrace_event>.size
    static let afInet: UInt16 = 2
    static let afInet6: UInt16 = 10

    public static func decode(_ raw: UnsafeRawBufferPointer, clock: MonotonicToWall) throws(DecodeError) -> Transition {
        guard raw.count >= eventSize, let base = raw.baseAddress else { throw .short(size: raw.count) }
        let e = base.loadUnaligned(as: tcptrace_event.self)
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
            cookie: e.cookie,
            local: withUnsafeBytes(of: e.saddr) { IPAddress(family: family, bytes: $0) },
            localPort: e.lport,
            remote: withUnsafeBytes(of: e.daddr) { IPAddress(family: family, bytes: $0) },
            remotePort: e.rport,
            old: TCPState(rawValue: e.oldstate),
            new: TCPState(rawValue: e.newstate),
            nanosecondsInOld: has(TCPTRACE_F_HAS_OLD_DURATION) ? e.ns_in_old : nil,
            pid: e.pid,
            comm: withUnsafeBytes(of: e.comm) { string(fromCChars: $0) })
        if has(TCPTRACE_F_HAS_OWNER) {
            t.owner = Owner(pid: e.owner_pid, comm: withUnsafeBytes(of: e.owner_comm) { string(fromCChars: $0) })
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

    /// A NUL-terminated (or full-length) C string; invalid UTF-8 is repaired, never trusted.
    static func string(fromCChars raw: UnsafeRawBufferPointer) -> String {
        let n = raw.firstIndex(of: 0) ?? raw.count
        return String(decoding: raw[..<n], as: UTF8.self)
    }
}
