/// Where `--metrics-address` listens: an IPv4 address or a bracketed IPv6 address, and a port.
public struct MetricsAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: IPAddress
    public var port: UInt16

    public init(host: IPAddress, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// `127.0.0.1:9464`, `0.0.0.0:9464`, `[::1]:9464`, `[::]:9464`; nil for anything else
    /// (names are not looked up: the address is what gets bound).
    public init?(_ text: String) {
        let hostText: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            hostText = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard hostText.contains(":") else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostText = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !hostText.contains(":") else { return nil }
        }
        guard let host = IPAddress(hostText), !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = UInt16(portText), port > 0
        else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.family == .ipv6 ? "[\(host.text)]:\(port)" : "\(host.text):\(port)" }
}
