import CTcptraceHost
import Glibc
import TcptraceCore

/// The kernel's socket census over NETLINK_SOCK_DIAG (what `ss` uses): one dump request for
/// both address families (or one per family), answered by batches of inet_diag_msg. Needs no
/// BPF and, for TCP sockets, no privilege.
public enum SockDiag {
    /// Every bit: all states, including TIME_WAIT and request sockets (SYN_RECV).
    public static let allStates: UInt32 = 0xffff_ffff
    /// One recv holds at most this much; the kernel fills dump batches up to 32 KiB.
    static let receiveBufferBytes = 64 << 10

    /// TCP sockets of `families` whose state is in `states` (nil: all states).
    public static func dump(
        families: [AddressFamily] = [.ipv4, .ipv6], states: Set<TCPState>? = nil
    ) throws(SystemError) -> [SocketSnapshot] {
        var out: [SocketSnapshot] = []
        try forEach(families: families, states: states) { out.append($0) }
        return out
    }

    /// Calls `body` for each socket as the dump arrives, without collecting them.
    ///
    /// Both families are dumped with one request when the kernel takes it: the legacy
    /// TCPDIAG_GETSOCK request (family AF_UNSPEC) walks the socket tables once, where a
    /// SOCK_DIAG_BY_FAMILY request per family walks every socket of both families twice (the
    /// family is checked per socket). With 131,072 TIME_WAIT sockets that cut the kernel's time
    /// by a third. If the legacy request is refused before any socket arrives, requests per
    /// family follow (`singleWalk: false` asks for those directly). Either way listening sockets
    /// come before all others.
    public static func forEach(
        families: [AddressFamily] = [.ipv4, .ipv6], states: Set<TCPState>? = nil, singleWalk: Bool = true,
        in namespace: NetworkNamespace? = nil, sockets pool: DiagSockets? = nil,
        _ body: (SocketSnapshot) -> Void
    ) throws(SystemError) {
        let mask = states.map { $0.reduce(UInt32(0)) { $0 | (1 << UInt32($1.rawValue & 31)) } } ?? allStates
        var buffer = [UInt8](repeating: 0, count: receiveBufferBytes)
        // The namespace's reused socket, or (no pool) one of this dump's own. A dump that fails
        // leaves the socket in an unknown state: it is closed and the next one starts clean.
        let pool = pool ?? DiagSockets()
        let namespace = namespace ?? NetworkNamespace(inode: 0, path: "/proc/self/ns/net", isOwn: true)
        func socket() throws(SystemError) -> Int32 { try pool.socket(in: namespace) }
        func discard() { pool.discard(namespace) }
        if singleWalk && Set(families) == [.ipv4, .ipv6] {
            var delivered = false
            do {
                let fd = try socket()
                try send(fd: fd, request: .bothFamilies(states: mask, seq: 1))
                try receive(fd: fd, seq: 1, type: UInt16(TCPDIAG_GETSOCK), buffer: &buffer) { s in
                    delivered = true
                    body(s)
                }
                return
            } catch {
                discard()
                if delivered { throw error }
            }
        }
        // A socket of its own: nothing left over from a refused or broken request above.
        let fd = try socket()
        // Listening sockets of every family first, as one walk delivers them (Census.Tally
        // needs them before the others).
        let listen = UInt32(1) << UInt32(TCPState.listen.rawValue)
        let passes = families.count > 1 && mask & listen != 0 && mask != listen ? [listen, mask & ~listen] : [mask]
        var seq: UInt32 = 1
        do {
            for pass in passes {
                for family in families {
                    seq += 1
                    try send(fd: fd, request: .family(family, states: pass, seq: seq))
                    try receive(fd: fd, seq: seq, type: UInt16(SOCK_DIAG_BY_FAMILY), buffer: &buffer, body)
                }
            }
        } catch {
            discard()
            throw error
        }
    }

    static func openSocket() throws(SystemError) -> FileDescriptor {
        do {
            return try FileDescriptor.socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue), NETLINK_SOCK_DIAG)
        } catch {
            throw .call("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", errno: error.code)
        }
    }

    enum Request {
        /// SOCK_DIAG_BY_FAMILY with inet_diag_req_v2: one family.
        case family(AddressFamily, states: UInt32, seq: UInt32)
        /// TCPDIAG_GETSOCK with the older inet_diag_req: the kernel sets family AF_UNSPEC.
        case bothFamilies(states: UInt32, seq: UInt32)
    }

    static func send(fd: Int32, request: Request) throws(SystemError) {
        func header(_ type: Int32, _ bodySize: Int, _ seq: UInt32) -> nlmsghdr {
            var h = nlmsghdr()
            h.nlmsg_len = UInt32(MemoryLayout<nlmsghdr>.size + bodySize)
            h.nlmsg_type = UInt16(type)
            h.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_DUMP)
            h.nlmsg_seq = seq
            return h
        }
        switch request {
        case .family(let family, let states, let seq):
            var body = inet_diag_req_v2()
            body.sdiag_family = UInt8(family == .ipv4 ? AF_INET : AF_INET6)
            body.sdiag_protocol = UInt8(IPPROTO_TCP)
            body.idiag_states = states
            try sendMessage(fd: fd, (header(SOCK_DIAG_BY_FAMILY, MemoryLayout.size(ofValue: body), seq), body))
        case .bothFamilies(let states, let seq):
            var body = inet_diag_req()
            body.idiag_states = states
            try sendMessage(fd: fd, (header(TCPDIAG_GETSOCK, MemoryLayout.size(ofValue: body), seq), body))
        }
    }

    /// Sends a header and body laid out as the kernel reads them (both are 4-byte aligned).
    private static func sendMessage<Body>(fd: Int32, _ message: (nlmsghdr, Body)) throws(SystemError) {
        var m = message
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        let size = MemoryLayout<nlmsghdr>.size + MemoryLayout<Body>.size
        let n = retryingOnInterrupt {
            withUnsafePointer(to: &m) { mp in
                withUnsafePointer(to: &kernel) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, mp, size, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
        }
        if n < 0 { throw .call("sendto(sock_diag dump request)", errno: errno) }
    }

    enum BatchEnd {
        case more, done, failed(Int32), malformed
    }

    /// Reads batches until NLMSG_DONE, parsing every message of each batch.
    static func receive(
        fd: Int32, seq: UInt32, type: UInt16, buffer: inout [UInt8], _ body: (SocketSnapshot) -> Void
    ) throws(SystemError) {
        while true {
            let n = retryingOnInterrupt { buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) } }
            if n < 0 { throw .call("recv(sock_diag)", errno: errno) }
            if n == 0 { throw .call("recv(sock_diag): the dump ended without NLMSG_DONE", errno: EPROTO) }
            switch buffer.withUnsafeBytes({ parse($0, count: n, seq: seq, type: type, body) }) {
            case .more: continue
            case .done: return
            case .failed(let e): throw .call("sock_diag dump", errno: e)
            case .malformed: throw .call("sock_diag dump: malformed netlink message", errno: EPROTO)
            }
        }
    }

    /// Every message of one batch, in order.
    static func parse(
        _ raw: UnsafeRawBufferPointer, count n: Int, seq: UInt32, type: UInt16, _ body: (SocketSnapshot) -> Void
    ) -> BatchEnd {
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
                case Int32(type) where len >= headerSize + msgSize:
                    body(snapshot(raw.loadUnaligned(fromByteOffset: offset + headerSize, as: inet_diag_msg.self)))
                case 0..<Int32(NLMSG_MIN_TYPE):
                    break  // other netlink control messages (NLMSG_NOOP)
                default:
                    return .malformed  // an answer of a kind we did not ask for: not silently dropped
                }
            }
            offset += (len + 3) & ~3  // NLMSG_ALIGN
        }
        return .more
    }

    static func snapshot(_ m: inet_diag_msg) -> SocketSnapshot {
        let family: AddressFamily = Int32(m.idiag_family) == AF_INET ? .ipv4 : .ipv6
        let id = m.id
        // The 16 address bytes as two big-endian words (IPv4: the first 4 bytes).
        func address(_ words: (UInt32, UInt32, UInt32, UInt32)) -> IPAddress {
            withUnsafeBytes(of: words) {
                IPAddress(
                    family: family, high: UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)),
                    low: UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
        }
        let local = address(id.idiag_src)
        let remote = address(id.idiag_dst)
        return SocketSnapshot(
            cookie: UInt64(id.idiag_cookie.0) | UInt64(id.idiag_cookie.1) << 32,
            state: TCPState(rawValue: m.idiag_state),
            local: local, localPort: UInt16(bigEndian: id.idiag_sport),
            remote: remote, remotePort: UInt16(bigEndian: id.idiag_dport),
            inode: UInt64(m.idiag_inode), uid: m.idiag_uid,
            receiveQueue: m.idiag_rqueue, sendQueue: m.idiag_wqueue)
    }
}
