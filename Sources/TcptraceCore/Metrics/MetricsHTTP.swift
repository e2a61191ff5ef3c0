/// The metrics endpoint's HTTP, without sockets: one request per connection, answered whole,
/// then closed (`Connection: close`). GET and HEAD of `/metrics` (the page) and `/` (a link to
/// it); 404 for other paths, 405 for other methods, 400 for a malformed head, 431 for a head
/// over `maxHeadBytes`, 503 when the server has no room for another client.
public enum MetricsHTTP {
    /// Most bytes of a request head (request line and headers).
    public static let maxHeadBytes = 8192

    /// What to do with the bytes received so far.
    public enum Progress: Equatable {
        /// No complete head yet, and not too long: read more.
        case incomplete
        /// Answer with these bytes, then close.
        case respond([UInt8])
    }

    /// `received`: everything read from the client so far. `page` renders `/metrics`.
    public static func progress(_ received: [UInt8], page: () -> String) -> Progress {
        guard let end = headEnd(received) else {
            return received.count > maxHeadBytes ? .respond(response(431, "request head too large\n")) : .incomplete
        }
        if end > maxHeadBytes { return .respond(response(431, "request head too large\n")) }
        let lineEnd = received.firstIndex(of: 0x0A)!
        var line = received[..<lineEnd]
        if line.last == 0x0D { line = line.dropLast() }
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].starts(with: "HTTP/1.".utf8), !parts[0].isEmpty, parts[1].first == 0x2F else {
            return .respond(response(400, "bad request\n"))
        }
        let method = String(decoding: parts[0], as: UTF8.self)
        let path = String(decoding: parts[1].prefix { $0 != 0x3F }, as: UTF8.self)  // without ?query
        guard method == "GET" || method == "HEAD" else {
            return .respond(response(405, "only GET and HEAD\n", extraHeaders: "Allow: GET, HEAD\r\n"))
        }
        let head = method == "HEAD"
        switch path {
        case "/metrics":
            return .respond(response(200, page(), contentType: PrometheusText.contentType, headOnly: head))
        case "/":
            let html = "<html><head><title>tcptrace-bpf</title></head><body><a href=\"/metrics\">Metrics</a></body></html>\n"
            return .respond(response(200, html, contentType: "text/html; charset=utf-8", headOnly: head))
        default:
            return .respond(response(404, "not found: try /metrics\n", headOnly: head))
        }
    }

    /// The answer when every client slot is taken.
    public static let busy = response(503, "too many concurrent scrapes\n")

    /// The offset just past the blank line ending the head, if it has arrived.
    static func headEnd(_ b: [UInt8]) -> Int? {
        var i = 0
        while i < b.count {
            if b[i] == 0x0A {
                if i + 1 < b.count && b[i + 1] == 0x0A { return i + 2 }
                if i + 2 < b.count && b[i + 1] == 0x0D && b[i + 2] == 0x0A { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    static let reasons: [Int: String] = [
        200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 431: "Request Header Fields Too Large",
        503: "Service Unavailable",
    ]

    static func response(
        _ status: Int, _ body: String, contentType: String = "text/plain; charset=utf-8", extraHeaders: String = "",
        headOnly: Bool = false
    ) -> [UInt8] {
        let bytes = Array(body.utf8)
        var head = "HTTP/1.1 \(status) \(reasons[status] ?? "")\r\n"
        head += "Content-Type: \(contentType)\r\nContent-Length: \(bytes.count)\r\n\(extraHeaders)Connection: close\r\n\r\n"
        return Array(head.utf8) + (headOnly ? [] : bytes)
    }
}
