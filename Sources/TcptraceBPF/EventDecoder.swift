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
        var names = CommNames()
        return try decode(raw, clock: clock, names: &names)
    }

    /// Decodes with `names` turning the comm fields into `String`s: the same few process names
    /// repeat on every event, so they are built once, not validated and copied per event.
    public static func decode(
        _ raw: UnsafeRawBufferPointer, clock: MonotonicToWall, names: inout CommNames
    ) throws(DecodeError) -> Transition {
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
            local: address(family, e.saddr),
            localPort: e.lport,
            remote: address(family, e.daddr),
            remotePort: e.rport,
            old: TCPState(rawValue: e.oldstate),
            new: TCPState(rawValue: e.newstate),
            nanosecondsInOld: has(TCPTRACE_F_HAS_OLD_DURATION) ? e.ns_in_old : nil,
            pid: e.pid,
            comm: names.name(e.comm))
        if has(TCPTRACE_F_HAS_OWNER) {
            t.owner = Owner(pid: e.owner_pid, comm: names.name(e.owner_comm))
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

    /// A NUL-terminated (or full-length) C string; invalid UTF-8 is repaired, never trusted.
    static func string(fromCChars raw: UnsafeRawBufferPointer) -> String {
        let n = raw.firstIndex(of: 0) ?? raw.count
        return String(decoding: raw[..<n], as: UTF8.self)
    }
}

/// A small direct-mapped cache from a 16-byte kernel comm field to its `String`. Bounded: 64
/// slots; a colliding name replaces the slot's previous one.
public struct CommNames {
    static let slots = 64
    var keys = [(UInt64, UInt64)](repeating: (0, 0), count: slots)
    var values = [String?](repeating: nil, count: slots)
    public init() {}

    /// The comm as text: NUL-terminated (or all 16 bytes); invalid UTF-8 repaired.
    public mutating func name(_ comm: (CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar)) -> String {
        let key = unsafeBitCast(comm, to: (UInt64, UInt64).self)
        let slot = Int(truncatingIfNeeded: ((key.0 ^ (key.1 &* 31)) &* 0x9E37_79B9_7F4A_7C15) >> 58)
        if let v = values[slot], keys[slot] == key { return v }
        let v = withUnsafeBytes(of: comm) { EventDecoder.string(fromCChars: $0) }
        keys[slot] = key
        values[slot] = v
        return v
    }
}
