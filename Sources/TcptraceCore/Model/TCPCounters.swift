/// tcp_sock counters read by the kernel program when the socket reaches CLOSE.
public struct TCPCounters: Hashable, Sendable, FieldGroup {
    public var bytesAcked: UInt64
    public var bytesReceived: UInt64
    public var totalRetransmissions: UInt32
    public var smoothedRTTMicroseconds: UInt32
    /// sk->sk_err: the error a failed connect() returned (ECONNREFUSED, ETIMEDOUT); 0 for none.
    public var socketError: UInt16
    public init(
        bytesAcked: UInt64, bytesReceived: UInt64, totalRetransmissions: UInt32, smoothedRTTMicroseconds: UInt32,
        socketError: UInt16 = 0
    ) {
        self.bytesAcked = bytesAcked
        self.bytesReceived = bytesReceived
        self.totalRetransmissions = totalRetransmissions
        self.smoothedRTTMicroseconds = smoothedRTTMicroseconds
        self.socketError = socketError
    }
    public init() { self.init(bytesAcked: 0, bytesReceived: 0, totalRetransmissions: 0, smoothedRTTMicroseconds: 0) }

    @inlinable @inline(__always)
    public static func fields<V: FieldVisitor>(_ r: inout TCPCounters, _ v: inout V) {
        v.field(
            "bytes_acked", &r.bytesAcked, Integer<UInt64>.self, text: .labeled(" acked "),
            "bytes acknowledged by the peer (RFC 4898; SYN and FIN count one each)")
        v.field(
            "bytes_received", &r.bytesReceived, Integer<UInt64>.self, text: .labeled(" received "),
            "bytes received (RFC 4898; SYN and FIN count one each)")
        v.field(
            "retransmits", &r.totalRetransmissions, Integer<UInt32>.self, text: .labeled(" retransmits "),
            "total retransmissions")
        v.field("srtt_us", &r.smoothedRTTMicroseconds, Integer<UInt32>.self, text: .labeled(" srtt ", suffix: " us"), "smoothed RTT, µs")
        v.field(
            "sk_err", &r.socketError, Integer<UInt16>.self, text: .hidden, required: false,
            "the socket's error (`sk_err`, an errno: 111 ECONNREFUSED after an RST in `SYN_SENT`, 110 ETIMEDOUT when the SYNs ran out); 0 for none")
    }
}
