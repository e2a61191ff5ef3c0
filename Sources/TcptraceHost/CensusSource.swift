import TcptraceCore

/// A census taken now: one sock_diag dump, counted as it arrives.
public enum CensusSource {
    /// Dumps the families the filter asks for (IPv4-mapped sockets live in the IPv6 table).
    public static func take(filter: CensusFilter, top: Int = Census.defaultTop) throws(SystemError) -> Census {
        let families: [AddressFamily] = filter.family == .ipv6 ? [.ipv6] : [.ipv4, .ipv6]
        var tally = Census.Tally(filter: filter, portRange: Sysctl.localPortRange())
        try SockDiag.forEach(families: families) { tally.add($0) }
        return tally.census(time: SystemClock.wallNow(), top: top)
    }
}
