/// What is true about TIME_WAIT and local ports, said once: `doctor`'s facts and advice and the
/// tracer's port-pressure advice read these. Never tcp_tw_recycle (removed in Linux 4.12), never a
/// shorter tcp_fin_timeout (it bounds orphaned FIN_WAIT2, not TIME_WAIT).
public enum TimeWaitFacts {
    public static let timeWaitSeconds = 60
    public static let twReuse =
        "0 off, 1 on, 2 (default) loopback only: lets a new outgoing connect() take a local port held in TIME_WAIT when safe by TCP timestamps; it never helps incoming connections, and needs tcp_timestamps on"
    public static let twRecycleRemoved =
        "does not exist since Linux 4.12 (it broke clients behind NAT); a sysctl.conf that sets it makes `sysctl -p` fail"
    public static let finTimeout =
        "how long an orphaned connection stays in FIN_WAIT2 before it is aborted (default 60 s); it does not change TIME_WAIT, which is fixed at 60 s (TCP_TIMEWAIT_LEN)"
    public static let portRange =
        "the local ports connect() picks from (default 32768 60999, \(PortRange.linuxDefault.size) ports): with TIME_WAIT, the limit on new connections per source address and destination"
    public static let bindAddressNoPort =
        "a client that bind()s its source address before connect() should set IP_BIND_ADDRESS_NO_PORT, so the port is chosen at connect() per destination instead of once for every destination"
    public static let pooling = "reuse connections (pooling, HTTP keep-alive): each connection closed by the client holds its local port 60 s in TIME_WAIT"
    public static let moreDestinations = "spread the connections over more destination addresses or ports: the limit is per source address and destination"

    /// Advice for one destination running out of local ports, with the namespace's settings.
    public static func advice(maker: Owner?, reading r: PortPressure.Reading) -> String {
        var steps = [pooling]
        switch r.twReuse {
        case 1:
            if !r.reuse { steps.append("tcp_tw_reuse is 1 but has no effect: tcp_timestamps is off") }
        case 2:
            steps.append("set net.ipv4.tcp_tw_reuse=1 (now 2: loopback only) so connect() may take a TIME_WAIT port after 1 s")
        default:
            steps.append("set net.ipv4.tcp_tw_reuse=1 (now \(r.twReuse.map(String.init) ?? "unknown"); 2 is loopback only) so connect() may take a TIME_WAIT port after 1 s")
        }
        steps.append("widen net.ipv4.ip_local_port_range (\(r.usable) usable ports here)")
        steps.append("IP_BIND_ADDRESS_NO_PORT if it binds before connect()")
        steps.append("more destination addresses or ports")
        let who = maker.map { "\($0.comm) (pid \($0.pid)): " } ?? ""
        return who + steps.joined(separator: "; ")
    }
}
