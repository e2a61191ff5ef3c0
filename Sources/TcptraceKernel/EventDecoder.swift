import CTcptraceProgram
import TcptraceCore
import TcptraceHost

public enum DecodeError: Error, Equatable {
    case short(size: Int)
    case unknownFamily(UInt16)
}

/// Raw ring-buffer records (struct tcptrace_event, bpf/tcptrace.h) to `Transition`s.
public enum EventDecoder {
    public static let eventSize = MemoryLayout<tcptrace_event>.size
    static let afInet: UInt16 = 2
    static let afInet6: UInt16 = 10

    /// One record; the comm fields stay fixed bytes (`CommName`), checked only for ASCII.
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
