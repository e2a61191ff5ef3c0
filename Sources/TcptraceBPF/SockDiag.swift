import CTcptrace
import Glibc
import TcptraceCore

/// The kernel's socket census over NETLINK_SOCK_DIAG (what `ss` uses): one dump request per
/// address family, answered by batches of inet_diag_msg. Needs no BPF and, for TCP sockets,
/// no privilege.
public enum SockDiag {
    /// Every bit: all states, including TIME_WAIT and request sockets (SYN_RECV).
    public static let allStates: UInt32 = 0xffff_ffff
    /// One recv holds at most this much; the kernel fills dump batches up to 32 KiB.
    static let receiveBufferBytes = 64 << 10

    /// TCP sockets of `families` whose state is in `states` (nil: all states).
    public static func dump(
        families: [AddressFamily] = [.ipv4, .ipv6], states: Set<TCPState>? = nil
    ) throws(TracerError) -> [SocketSnapshot] {
        var out: [SocketSnapshot] = []
        try forEach(families: families, states: states) { out.append($0) }
        return out
    }

    /// Calls `body` for each socket as the dump arrives, without collecting them.
    public static func forEach(
        families: [AddressFamily] = [.ipv4, .ipv6], states: Set<TCPState>? = nil, _ body: (SocketSnapshot) -> Void
    ) throws(TracerError) {
        let fd = socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_SOCK_DIAG)
        if fd < 0 { throw .call("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", errno: errno) }
        defer { close(fd) }
        let mask = states.map { $0.reduce(UInt32(0)) { $0 | (1 << UInt32($1.rawValue & 31)) } } ?? allStates
        var buffer = [UInt8](repeating: 0, count: receiveBufferBytes)
        for (i, family) in families.enumerated() {
            let seq = UInt32(i + 1)
            try request(fd: fd, family: family, states: mask, seq: seq)
            try receive(fd: fd, seq: seq, buffer: &buffer, body)
        }
    }

    static func request(fd: Int32, family: AddressFamily, states: UInt32, seq: UInt32) throws(TracerError) {
        struct Request {
            var header = nlmsghdr()
            var body = inet_diag_req_v2()
        }
        var r = Request()
        r.header.nlmsg_len = UInt32(MemoryLayout<Request>.size)
        r.header.nlmsg_type = UInt16(SOCK_DIAG_BY_FAMILY)
        r.header.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_DUMP)
        r.header.nlmsg_seq = seq
        r.body.sdiag_family = UInt8(family == .ipv4 ? AF_INET : AF_INET6)
        r.body.sdiag_protocol = UInt8(IPPROTO_TCP)
        r.body.idiag_states = states
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        while true {
            let n = withUnsafePointer(to: &r) { rp in
                withUnsafePointer(to: &kernel) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, rp, MemoryLayout<Request>.size, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
            if n >= 0 { return }
            if errno != EINTR { throw .call("sendto(sock_diag dump request)", errno: errno) }
        }
    }

    enum BatchEnd {
        case more, done, failed(Int32), malformed
    }

    /// Reads batches until NLMSG_DONE, parsing every message of each batch.
    static func receive(fd: Int32, seq: UInt32, buffer: inout [UInt8], _ body: (SocketSnapshot) -> Void) throws(TracerError) {
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .call("recv(sock_diag)", errno: errno)
            }
            if n == 0 { throw .call("recv(sock_diag): the dump ended without NLMSG_DONE", errno: EPROTO) }
            switch buffer.withUnsafeBytes({ parse($0, count: n, seq: seq, body) }) {
            case .more: continue
            case .done: return
            case .failed(let e): throw .call("sock_diag dump", errno: e)
            case .malformed: throw .call("sock_diag dump: malformed netlink message", errno: EPROTO)
            }
        }
    }

    /// Every message of one batch, in order.
    static func parse(_ raw: UnsafeRawBufferPointer, count n: Int, seq: UInt32, _ body: (SocketSnapshot) -> Void) -> BatchEnd {
        let headerSize = MemoryLayout<nlmsghdr>.size
        let msgSize = MemoryLayout<inet_diag_msg>.size
        var offset = 0
        while offset + headerSize <= n {
            let h = raw.loadUnaligned(fromByteOffset: offset, as: nlmsghdr.self)
            let len = Int(h.nlmsg_len)
            guard len >= headerSize, offset + len <= n else { return .malformed }
            if h.nlmsg_seq == seq {
                switch Int32(h.nlmsg_type) {
                case NLMSG_DONE:
                    return .done
                case NLMSG_ERROR:
                    guard len >= headerSize + 4 else { return .malformed }
                    let e = raw.loadUnaligned(fromByteOffset: offset + headerSize, as: Int32.self)
                    return e == 0 ? .done : .failed(-e)
                case Int32(SOCK_DIAG_BY_FAMILY) where len >= headerSize + msgSize:
                    body(snapshot(raw.loadUnaligned(fromByteOffset: offset + headerSize, as: inet_diag_msg.self)))
                default:
                    break
                }
            }
            offset += (len + 3) & ~3  // NLMSG_ALIGN
        }
        return .more
    }

    static func snapshot(_ m: inet_diag_msg) -> SocketSnapshot {
        let family: AddressFamily = Int32(m.idiag_family) == AF_INET ? .ipv4 : .ipv6
        var id = m.id
        let local = withUnsafeBytes(of: &id.idiag_src) { IPAddress(family: family, bytes: $0) }
        let remote = withUnsafeBytes(of: &id.idiag_dst) { IPAddress(family: family, bytes: $0) }
        return SocketSnapshot(
            cookie: UInt64(id.idiag_cookie.0) | UInt64(id.idiag_cookie.1) << 32,
            state: TCPState(rawValue: m.idiag_state),
            local: local, localPort: UInt16(bigEndian: id.idiag_sport),
            remote: remote, remotePort: UInt16(bigEndian: id.idiag_dport),
            inode: UInt64(m.idiag_inode), uid: m.idiag_uid,
            receiveQueue: m.idiag_rqueue, sendQueue: m.idiag_wqueue)
    }
}
