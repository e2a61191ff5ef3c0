/// Reads back one JSON line that `JSONLines` wrote, for offline replay (`report`). Pure and
/// allocation-light: it walks the bytes of the fixed schema (strings with escapes, numbers,
/// null, nested `owner`/`tcp` objects), skips fields it does not know, and never traps on bad
/// input: every failure is a `RecordLineError` naming what was wrong.
public enum RecordLine: Sendable, Equatable {
    case transition(Transition)
    /// A record of another type (`connection`, `summary`, …): passed over, its time kept.
    case other(type: String, time: WallTime?)
    /// An empty or all-blank line.
    case blank
}

public enum RecordLineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not a JSON object, or a transition without a required field or with a wrong value.
    case malformed(String)
    /// `v` is not the schema version this build reads.
    case unsupportedVersion(Int64)

    public var description: String {
        switch self {
        case .malformed(let why): return why
        case .unsupportedVersion(let v):
            return "schema version \(v) is not supported (this build reads version \(JSONLines.schemaVersion))"
        }
    }
}

public enum RecordLineParser {
    /// Nesting deeper than this in a skipped value is rejected (bounded recursion).
    static let maxDepth = 32

    public static func parse(_ line: [UInt8]) -> Result<RecordLine, RecordLineError> {
        line.withUnsafeBufferPointer { parse($0) }
    }

    public static func parse(_ line: UnsafeBufferPointer<UInt8>) -> Result<RecordLine, RecordLineError> {
        var p = Cursor(bytes: line)
        p.skipSpace()
        if p.atEnd { return .success(.blank) }
        var f = Fields()
        do throws(RecordLineError) {
            try p.object { key, p throws(RecordLineError) in try f.read(key: key, from: &p) }
            p.skipSpace()
            if !p.atEnd { throw p.fail("text after the object") }
        } catch {
            return .failure(error)
        }
        return f.result()
    }

    /// The transition fields as read, before they are checked.
    struct Fields {
        var type: String?
        var version: Int64?
        var time: WallTime?
        var timeBad = false
        var cookie: UInt64?
        var local: IPAddress?
        var localPort: UInt16?
        var remote: IPAddress?
        var remotePort: UInt16?
        var old: TCPState?
        var new: TCPState?
        var nsInOld: UInt64?
        var pid: UInt32 = 0
        var comm = CommName()
        var owner: Owner?
        var inode: UInt64?
        var receiveQueue: UInt32?
        var counters: TCPCounters?
        /// The first field whose value did not fit the transition schema. Other record types
        /// share some names with other meanings, so this counts only for transitions.
        var mismatch: String?

        mutating func read(key: Key, from p: inout Cursor) throws(RecordLineError) {
            let start = p.i
            var ok = true
            switch key {
            case .type: if let s = p.stringValue() { type = s } else { ok = false }
            case .v: if let n = p.signedInteger() { version = n } else { ok = false }
            case .time:
                if let t = p.withRawString({ WallTime(rfc3339Bytes: $0) }) {
                    time = t
                } else {
                    timeBad = true
                    ok = false
                }
            case .cookie: if let n = p.unsigned(max: .max) { cookie = n } else { ok = false }
            case .laddr: if let a = p.withRawString(Self.address) { local = a } else { ok = false }
            case .raddr: if let a = p.withRawString(Self.address) { remote = a } else { ok = false }
            case .lport: if let n = p.unsigned(max: 65535) { localPort = UInt16(n) } else { ok = false }
            case .rport: if let n = p.unsigned(max: 65535) { remotePort = UInt16(n) } else { ok = false }
            case .old: if let s = p.withRawString(Self.state) { old = s } else { ok = false }
            case .new: if let s = p.withRawString(Self.state) { new = s } else { ok = false }
            case .msInOld:
                if p.null() { nsInOld = nil } else if let ns = p.millisecondsAsNanoseconds() { nsInOld = ns } else { ok = false }
            case .pid: if let n = p.unsigned(max: UInt64(UInt32.max)) { pid = UInt32(n) } else { ok = false }
            case .comm: if let s = p.stringValue() { comm = CommName(s) } else { ok = false }
            case .owner:
                if p.null() { owner = nil } else if let o = try Self.owner(&p) { owner = o } else { ok = false }
            case .inode:
                if p.null() { inode = nil } else if let n = p.unsigned(max: .max) { inode = n } else { ok = false }
            case .rcvQueue:
                if p.null() {
                    receiveQueue = nil
                } else if let n = p.unsigned(max: UInt64(UInt32.max)) {
                    receiveQueue = UInt32(n)
                } else {
                    ok = false
                }
            case .tcp:
                if p.null() { counters = nil } else if let c = try Self.counters(&p) { counters = c } else { ok = false }
            default:
                try p.skipValue(depth: 0)
            }
            if !ok {
                if mismatch == nil { mismatch = "bad value for \"\(key.name)\"" }
                p.i = start
                try p.skipValue(depth: 0)
            }
        }

        func result() -> Result<RecordLine, RecordLineError> {
            if let version, version != Int64(JSONLines.schemaVersion) { return .failure(.unsupportedVersion(version)) }
            guard let type else { return .failure(.malformed("no \"type\" field")) }
            guard type == "transition" else { return .success(.other(type: type, time: time)) }
            if let mismatch { return .failure(.malformed(mismatch)) }
            guard version != nil else { return .failure(.malformed("no \"v\" field")) }
            let missing = [
                ("time", time == nil), ("cookie", cookie == nil), ("laddr", local == nil), ("lport", localPort == nil),
                ("raddr", remote == nil), ("rport", remotePort == nil), ("old", old == nil), ("new", new == nil),
            ].first { $0.1 }
            if let missing { return .failure(.malformed("no \"\(missing.0)\" field")) }
            return .success(
                .transition(
                    Transition(
                        time: time!, cookie: cookie!, local: local!, localPort: localPort!, remote: remote!,
                        remotePort: remotePort!, old: old!, new: new!, nanosecondsInOld: nsInOld, pid: pid, comm: comm,
                        owner: owner, inode: inode, receiveQueue: receiveQueue, counters: counters)))
        }

        static func owner(_ p: inout Cursor) throws(RecordLineError) -> Owner? {
            guard p.peek == UInt8(ascii: "{") else { return nil }
            var pid: UInt32?
            var comm: String?
            try p.object { key, p throws(RecordLineError) in
                switch key {
                case .pid: pid = p.unsigned(max: UInt64(UInt32.max)).map(UInt32.init)
                case .comm: comm = p.stringValue()
                default: try p.skipValue(depth: 1)
                }
                if (key == .pid && pid == nil) || (key == .comm && comm == nil) { throw p.fail("bad owner.\(key.name)") }
            }
            guard let pid, let comm else { return nil }
            return Owner(pid: pid, comm: CommName(comm))
        }

        static func counters(_ p: inout Cursor) throws(RecordLineError) -> TCPCounters? {
            guard p.peek == UInt8(ascii: "{") else { return nil }
            var acked: UInt64?, received: UInt64?, retrans: UInt64?, srtt: UInt64?
            try p.object { key, p throws(RecordLineError) in
                let v: UInt64?
                switch key {
                case .bytesAcked: v = p.unsigned(max: .max); acked = v
                case .bytesReceived: v = p.unsigned(max: .max); received = v
                case .retransmits: v = p.unsigned(max: UInt64(UInt32.max)); retrans = v
                case .srttUs: v = p.unsigned(max: UInt64(UInt32.max)); srtt = v
                default:
                    try p.skipValue(depth: 1)
                    return
                }
                if v == nil { throw p.fail("bad tcp.\(key.name)") }
            }
            guard let acked, let received, let retrans, let srtt else { return nil }
            return TCPCounters(
                bytesAcked: acked, bytesReceived: received, totalRetransmissions: UInt32(retrans),
                smoothedRTTMicroseconds: UInt32(srtt))
        }

        /// Dotted quad without allocating; anything else through `IPAddress(_:)` (IPv6 text).
        static func address(_ b: UnsafeBufferPointer<UInt8>) -> IPAddress? {
            var v: UInt32 = 0, part: UInt32 = 0, digits = 0, dots = 0
            for c in b {
                if c >= 48 && c <= 57 {
                    part = part * 10 + UInt32(c - 48)
                    digits += 1
                    if digits > 3 || part > 255 { return slowAddress(b) }
                } else if c == UInt8(ascii: ".") && digits > 0 && dots < 3 {
                    v = v << 8 | part
                    part = 0
                    digits = 0
                    dots += 1
                } else {
                    return slowAddress(b)
                }
            }
            guard dots == 3 && digits > 0 else { return slowAddress(b) }
            return .v4(v << 8 | part)
        }

        static func slowAddress(_ b: UnsafeBufferPointer<UInt8>) -> IPAddress? {
            guard b.count <= 64, b.allSatisfy({ $0 < 0x80 }) else { return nil }
            return IPAddress(String(decoding: b, as: UTF8.self))
        }

        static let stateNames: [[UInt8]] = (0..<14).map { Array(TCPState(rawValue: UInt8($0)).name.utf8) }

        static func state(_ b: UnsafeBufferPointer<UInt8>) -> TCPState? {
            for i in 1..<stateNames.count where stateNames[i].count == b.count && stateNames[i].elementsEqual(b) {
                return TCPState(rawValue: UInt8(i))
            }
            guard b.count <= 16 else { return nil }
            return TCPState(name: String(decoding: b, as: UTF8.self))
        }
    }

    /// The field names this parser knows; everything else is `.other` and skipped.
    enum Key: Equatable {
        case type, v, time, cookie, family, laddr, lport, raddr, rport, old, new, msInOld, pid, comm, owner, inode,
            rcvQueue, tcp, bytesAcked, bytesReceived, retransmits, srttUs, other

        static let table: [(StaticString, Key)] = [
            ("type", .type), ("v", .v), ("time", .time), ("cookie", .cookie), ("family", .family), ("laddr", .laddr),
            ("lport", .lport), ("raddr", .raddr), ("rport", .rport), ("old", .old), ("new", .new),
            ("ms_in_old", .msInOld), ("pid", .pid), ("comm", .comm), ("owner", .owner), ("inode", .inode),
            ("rcv_queue", .rcvQueue), ("tcp", .tcp), ("bytes_acked", .bytesAcked),
            ("bytes_received", .bytesReceived), ("retransmits", .retransmits), ("srtt_us", .srttUs),
        ]

        init(_ b: UnsafeBufferPointer<UInt8>) {
            for (name, key) in Self.table where name.utf8CodeUnitCount == b.count {
                let n = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
                if n.elementsEqual(b) {
                    self = key
                    return
                }
            }
            self = .other
        }

        var name: String {
            for (n, k) in Self.table where k == self { return n.description }
            return "?"
        }
    }

    /// A position in one line. Every read checks bounds; nothing here can trap on input.
    struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        var atEnd: Bool { i >= bytes.count }
        var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

        func fail(_ what: String) -> RecordLineError {
            .malformed(atEnd ? "\(what) (line ends at column \(i + 1))" : "\(what) at column \(i + 1)")
        }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0d || bytes[i] == 0x0a { i += 1 }
        }

        mutating func expect(_ c: UInt8, _ what: String) throws(RecordLineError) {
            skipSpace()
            guard peek == c else { throw fail(what) }
            i += 1
        }

        /// `{ "key": value, … }`; `field` must consume the value.
        mutating func object(_ field: (Key, inout Cursor) throws(RecordLineError) -> Void) throws(RecordLineError) {
            try expect(UInt8(ascii: "{"), "expected a JSON object")
            skipSpace()
            if peek == UInt8(ascii: "}") {
                i += 1
                return
            }
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw fail("expected a field name") }
                var key = Key.other
                guard try rawString({ key = Key($0) }) else { throw fail("unterminated field name") }
                try expect(UInt8(ascii: ":"), "expected ':'")
                skipSpace()
                try field(key, &self)
                skipSpace()
                guard let c = peek else { throw fail("unterminated object") }
                i += 1
                if c == UInt8(ascii: "}") { return }
                guard c == UInt8(ascii: ",") else {
                    i -= 1
                    throw fail("expected ',' or '}'")
                }
            }
        }

        /// Reads a string at the cursor and hands its decoded bytes to `body`. Returns false
        /// (cursor unspecified) when there is no valid string here.
        mutating func rawString(_ body: (UnsafeBufferPointer<UInt8>) -> Void) throws(RecordLineError) -> Bool {
            guard peek == UInt8(ascii: "\"") else { return false }
            let start = i + 1
            var j = start
            var escaped = false
            while j < bytes.count {
                let c = bytes[j]
                if c == UInt8(ascii: "\"") { break }
                if c < 0x20 { throw RecordLineError.malformed("control character in a string at column \(j + 1)") }
                if c == UInt8(ascii: "\\") {
                    escaped = true
                    j += 1
                }
                j += 1
            }
            guard j < bytes.count else { throw RecordLineError.malformed("unterminated string (line ends at column \(bytes.count + 1))") }
            i = j + 1
            let raw = UnsafeBufferPointer(rebasing: bytes[start..<j])
            if !escaped {
                body(raw)
                return true
            }
            var out: [UInt8] = []
            out.reserveCapacity(raw.count)
            guard Self.unescape(raw, into: &out) else { throw RecordLineError.malformed("bad escape in a string before column \(i + 1)") }
            out.withUnsafeBufferPointer(body)
            return true
        }

        /// The string's value through `transform`; nil when not a string or `transform` fails.
        mutating func withRawString<T>(_ transform: (UnsafeBufferPointer<UInt8>) -> T?) -> T? {
            var result: T?
            let start = i
            guard (try? rawString({ result = transform($0) })) == true else {
                i = start
                return nil
            }
            return result
        }

        mutating func stringValue() -> String? { withRawString { String(decoding: $0, as: UTF8.self) } }

        static func hexValue(_ c: UInt8) -> UInt32? {
            switch c {
            case 48...57: return UInt32(c - 48)
            case 65...70: return UInt32(c - 55)
            case 97...102: return UInt32(c - 87)
            default: return nil
            }
        }

        static func unescape(_ s: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
            var k = 0
            func hex4(_ at: Int) -> UInt32? {
                guard at + 4 <= s.count else { return nil }
                var v: UInt32 = 0
                for m in at..<(at + 4) {
                    guard let h = hexValue(s[m]) else { return nil }
                    v = v << 4 | h
                }
                return v
            }
            while k < s.count {
                let c = s[k]
                guard c == UInt8(ascii: "\\") else {
                    out.append(c)
                    k += 1
                    continue
                }
                guard k + 1 < s.count else { return false }
                let e = s[k + 1]
                k += 2
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4(k) else { return false }
                    k += 4
                    if scalar >= 0xd800 && scalar < 0xdc00 {
                        // A high surrogate must be followed by an escaped low one.
                        guard k + 1 < s.count, s[k] == UInt8(ascii: "\\"), s[k + 1] == UInt8(ascii: "u"),
                            let low = hex4(k + 2), low >= 0xdc00 && low < 0xe000
                        else { return false }
                        k += 6
                        scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
                    } else if scalar >= 0xdc00 && scalar < 0xe000 {
                        return false
                    }
                    guard let u = Unicode.Scalar(scalar) else { return false }
                    out.append(contentsOf: String(Character(u)).utf8)
                default: return false
                }
            }
            return true
        }

        mutating func null() -> Bool {
            guard literal("null") else { return false }
            return true
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard i + n <= bytes.count else { return false }
            for k in 0..<n where bytes[i + k] != word.utf8Start[k] { return false }
            // "nullx" is not null.
            if i + n < bytes.count, Self.isWordByte(bytes[i + n]) { return false }
            i += n
            return true
        }

        static func isWordByte(_ c: UInt8) -> Bool {
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == UInt8(ascii: "_")
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
        }

        /// A JSON number: returns the integer and fraction digit spans, and whether an exponent
        /// followed. Nil (cursor unchanged) if no valid number is here.
        mutating func number() -> (negative: Bool, int: Range<Int>, frac: Range<Int>, exponent: Range<Int>?)? {
            let start = i
            var j = i
            var negative = false
            if j < bytes.count, bytes[j] == UInt8(ascii: "-") {
                negative = true
                j += 1
            }
            let intStart = j
            while j < bytes.count, bytes[j] >= 48 && bytes[j] <= 57 { j += 1 }
            let intEnd = j
            guard intEnd > intStart, bytes[intStart] != 48 || intEnd - intStart == 1 else {
                i = start
                return nil
            }
            var frac = j..<j
            if j < bytes.count, bytes[j] == UInt8(ascii: ".") {
                j += 1
                let fs = j
                while j < bytes.count, bytes[j] >= 48 && bytes[j] <= 57 { j += 1 }
                guard j > fs else { return nil }
                frac = fs..<j
            }
            var exponent: Range<Int>? = nil
            if j < bytes.count, bytes[j] == UInt8(ascii: "e") || bytes[j] == UInt8(ascii: "E") {
                let es = j
                j += 1
                if j < bytes.count, bytes[j] == UInt8(ascii: "+") || bytes[j] == UInt8(ascii: "-") { j += 1 }
                let ds = j
                while j < bytes.count, bytes[j] >= 48 && bytes[j] <= 57 { j += 1 }
                guard j > ds else { return nil }
                exponent = es..<j
            }
            if j < bytes.count, Self.isWordByte(bytes[j]) { return nil }
            i = j
            return (negative, intStart..<intEnd, frac, exponent)
        }

        func digits(_ r: Range<Int>, max: UInt64) -> UInt64? {
            var v: UInt64 = 0
            for k in r {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(bytes[k] - 48))
                guard !o1 && !o2 && a <= max else { return nil }
                v = a
            }
            return v
        }

        /// A non-negative integer up to `max` (no fraction, no exponent).
        mutating func unsigned(max: UInt64) -> UInt64? {
            let start = i
            guard let n = number(), !n.negative, n.frac.isEmpty, n.exponent == nil, let v = digits(n.int, max: max) else {
                i = start
                return nil
            }
            return v
        }

        mutating func signedInteger() -> Int64? {
            let start = i
            guard let n = number(), n.frac.isEmpty, n.exponent == nil, let v = digits(n.int, max: UInt64(Int64.max)) else {
                i = start
                return nil
            }
            return n.negative ? -Int64(v) : Int64(v)
        }

        /// Milliseconds as written (`1.234`, µs precision) to nanoseconds, exactly up to six
        /// decimals; through Double otherwise (more digits, an exponent).
        mutating func millisecondsAsNanoseconds() -> UInt64? {
            let start = i
            guard let n = number(), !n.negative else {
                i = start
                return nil
            }
            if n.exponent == nil && n.frac.count <= 6, let ms = digits(n.int, max: UInt64.max / 1_000_000) {
                var frac = digits(n.frac, max: 999_999) ?? 0
                for _ in n.frac.count..<6 { frac *= 10 }
                return ms * 1_000_000 + frac
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            guard let d = Double(text), d.isFinite, d >= 0, d * 1e6 < 1.8e19 else {
                i = start
                return nil
            }
            return UInt64(d * 1e6)
        }

        /// Skips any JSON value, nesting bounded by `maxDepth`.
        mutating func skipValue(depth: Int) throws(RecordLineError) {
            guard depth < RecordLineParser.maxDepth else { throw fail("nested too deeply") }
            skipSpace()
            guard let c = peek else { throw fail("missing value") }
            switch c {
            case UInt8(ascii: "\""):
                guard try rawString({ _ in }) else { throw fail("bad string") }
            case UInt8(ascii: "{"):
                try object { _, p throws(RecordLineError) in try p.skipValue(depth: depth + 1) }
            case UInt8(ascii: "["):
                i += 1
                skipSpace()
                if peek == UInt8(ascii: "]") {
                    i += 1
                    return
                }
                while true {
                    try skipValue(depth: depth + 1)
                    skipSpace()
                    guard let d = peek else { throw fail("unterminated array") }
                    i += 1
                    if d == UInt8(ascii: "]") { return }
                    guard d == UInt8(ascii: ",") else {
                        i -= 1
                        throw fail("expected ',' or ']'")
                    }
                }
            case UInt8(ascii: "n"):
                guard literal("null") else { throw fail("bad value") }
            case UInt8(ascii: "t"):
                guard literal("true") else { throw fail("bad value") }
            case UInt8(ascii: "f"):
                guard literal("false") else { throw fail("bad value") }
            default:
                guard number() != nil else { throw fail("bad value") }
            }
        }
    }
}
