/// `Tcp: RetransSegs` from /proc/net/snmp (pairs of lines: names, then values).
public func retransmittedSegments(procNetSnmp text: String) -> UInt64? {
    var header: [Substring]?
    for line in text.split(separator: "\n") where line.hasPrefix("Tcp:") {
        let fields = line.split(separator: " ")
        guard let names = header else {
            header = fields
            continue
        }
        for (name, value) in zip(names.dropFirst(), fields.dropFirst()) where name == "RetransSegs" { return UInt64(value) }
        return nil
    }
    return nil
}
