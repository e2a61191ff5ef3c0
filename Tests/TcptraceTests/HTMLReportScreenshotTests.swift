import CTcptraceHost
import Foundation
import FoundationXML
import Glibc
import Testing
import TcptraceCore

/// Headless Chromium (Debian's `chromium`), for pictures of pages.
enum Chromium {
    static let path = "/usr/bin/chromium"
    static var available: Bool { access(path, X_OK) == 0 }

    /// Renders `page` to a PNG at `png`; returns the console lines Chromium logged (any console
    /// message from a page without script is an error: a blocked or failed load).
    static func screenshot(_ page: String, to png: String, width: Int, height: Int) throws -> (status: Int32, console: [String]) {
        let profile = tempPath("chromium-profile")
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let p = Process()
        let err = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        p.arguments = [
            "-k", "5", "90", path, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--user-data-dir=\(profile)", "--enable-logging=stderr", "--v=0", "--screenshot=\(png)",
            "--window-size=\(width),\(height)", URL(fileURLWithPath: page).absoluteString,
        ]
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, log.split(separator: "\n").map(String.init).filter { $0.contains(":CONSOLE") })
    }
}

/// Just enough PNG decoding to look at the pixels: 8-bit RGB or RGBA, not interlaced.
struct PNGImage {
    var width = 0, height = 0
    var pixels: [UInt8] = []
    var channels = 0

    init?(_ data: [UInt8]) {
        guard data.count > 8, data[0..<8].elementsEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) else { return nil }
        var i = 8
        var idat: [UInt8] = []
        func be32(_ at: Int) -> Int { Int(data[at]) << 24 | Int(data[at + 1]) << 16 | Int(data[at + 2]) << 8 | Int(data[at + 3]) }
        while i + 8 <= data.count {
            let length = be32(i)
            let type = String(decoding: data[(i + 4)..<(i + 8)], as: UTF8.self)
            let body = (i + 8)..<(i + 8 + length)
            guard body.upperBound <= data.count else { return nil }
            if type == "IHDR" {
                width = be32(body.lowerBound)
                height = be32(body.lowerBound + 4)
                guard data[body.lowerBound + 8] == 8, data[body.lowerBound + 12] == 0 else { return nil }
                switch data[body.lowerBound + 9] {
                case 2: channels = 3
                case 6: channels = 4
                default: return nil
                }
            } else if type == "IDAT" {
                idat += data[body]
            }
            i = body.upperBound + 4
        }
        guard width > 0, height > 0, channels > 0 else { return nil }
        let stride = width * channels
        var raw = [UInt8](repeating: 0, count: height * (stride + 1))
        var rawLength = uLongf(raw.count)
        let rc = raw.withUnsafeMutableBufferPointer { out in
            idat.withUnsafeBufferPointer { uncompress(out.baseAddress, &rawLength, $0.baseAddress, uLong($0.count)) }
        }
        guard rc == Z_OK, Int(rawLength) == raw.count else { return nil }
        // Undo each row's filter (PNG spec 9.2).
        pixels = [UInt8](repeating: 0, count: height * stride)
        for y in 0..<height {
            let filter = raw[y * (stride + 1)]
            for x in 0..<stride {
                let v = raw[y * (stride + 1) + 1 + x]
                let a = x >= channels ? Int(pixels[y * stride + x - channels]) : 0
                let b = y > 0 ? Int(pixels[(y - 1) * stride + x]) : 0
                let c = x >= channels && y > 0 ? Int(pixels[(y - 1) * stride + x - channels]) : 0
                let predictor: Int
                switch filter {
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c
                    let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                default: predictor = 0
                }
                pixels[y * stride + x] = UInt8(truncatingIfNeeded: Int(v) + predictor)
            }
        }
    }

    /// Distinct RGB colours, and the share of pixels that are not the most common one.
    var colourStats: (distinct: Int, notBackground: Double) {
        var counts: [UInt32: Int] = [:]
        for p in stride(from: 0, to: pixels.count, by: channels) {
            counts[UInt32(pixels[p]) << 16 | UInt32(pixels[p + 1]) << 8 | UInt32(pixels[p + 2]), default: 0] += 1
        }
        let total = width * height
        return (counts.count, Double(total - (counts.values.max() ?? 0)) / Double(total))
    }
}

/// A real recorded log (Tests/Fixtures/leak-and-storm.jsonl: a leak and a connection storm,
/// traced by the real program; see record-leak-and-storm.sh), drawn by `report --html` as this
/// user and rendered by headless Chromium. The PNG is kept under `.build/html-report/`.
@Suite(.serialized) struct HTMLReportScreenshotTests {
    static let log = repositoryRoot + "/Tests/Fixtures/leak-and-storm.jsonl"
    /// What the recording holds: the leaking server's port and pid.
    static let leakPort = 21010
    static let leakyPID = 19505

    /// `.build/html-report`, next to the binary under test.
    var artifacts: String {
        var dir = URL(fileURLWithPath: Binary.path).deletingLastPathComponent()
        while dir.lastPathComponent != ".build" && dir.path != "/" { dir = dir.deletingLastPathComponent() }
        let out = (dir.path == "/" ? URL(fileURLWithPath: "/tmp") : dir).appendingPathComponent("html-report").path
        try? FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        return out
    }

    /// The page `report --html` makes of the recording; standard output has the summary only.
    func page() throws -> (path: String, text: String) {
        let html = artifacts + "/report.html"
        unlink(html)
        let r = try Binary.run(["report", "--html", html, "--close-wait-threshold", "1s", Self.log])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        #expect(r.stdout.contains("CLOSE_WAIT lingerers by holder:"), "standard output: the summary only")
        #expect(!r.stdout.contains("CONN "), "no connection lines with --html")
        return (html, try String(contentsOfFile: html, encoding: .utf8))
    }

    @Test func reportOfARealLeakAndStormIsAWellFormedSelfContainedPage() throws {
        let page = try page().text
        #expect(XMLParser(data: Data(page.utf8)).parse(), "well-formed")
        #expect(page.contains(">python3 (pid \(Self.leakyPID))</text>"), "the leaking process is named")
        let bars = page.components(separatedBy: "<title>python3 (pid \(Self.leakyPID)): 127.0.0.1:\(Self.leakPort) ←").count - 1
        #expect(bars == 3, "three lingerer bars")
        #expect(page.contains("Events lost by the tracer: 0"))
        #expect(!page.replacingOccurrences(of: "http://www.w3.org/", with: "").contains("http://"), "nothing to fetch")
    }

    @Test func reportOfARealLeakAndStormRendersInChromium() throws {
        try Requirement.that(Chromium.available, "chromium is not installed (Debian package chromium; `sudo make test` installs it)")
        let html = try page().path
        let png = artifacts + "/report.png"
        // Chromium renders it without a console message, to a picture that is not blank.
        unlink(png)
        let shot = try Chromium.screenshot(html, to: png, width: 1140, height: 2400)
        #expect(shot.status == 0)
        #expect(shot.console.isEmpty, "console: \(shot.console)")
        let image = try #require(PNGImage(Array(try Data(contentsOf: URL(fileURLWithPath: png)))), "a PNG")
        #expect(image.width == 1140 && image.height == 2400)
        let stats = image.colourStats
        #expect(stats.distinct > 100, "state colours, text and anti-aliasing: \(stats.distinct) colours")
        #expect(stats.notBackground > 0.05, "\(stats.notBackground) of the pixels drawn")

        // The console check is not vacuous: a page with a console error is caught.
        let bad = tempPath("bad.html"), badPNG = tempPath("bad.png")
        defer {
            unlink(bad)
            unlink(badPNG)
        }
        try "<html><body>x<script>console.error('boom')</script></body></html>".write(toFile: bad, atomically: false, encoding: .utf8)
        let badShot = try Chromium.screenshot(bad, to: badPNG, width: 200, height: 100)
        #expect(badShot.console.contains { $0.contains("boom") })
    }
}

/// The unprivileged side of `--html`: a path that cannot be written fails before any input is read.
@Suite struct HTMLReportOptionTests {
    @Test func unwritablePageIsExit73BeforeReading() throws {
        let r = try Binary.run(["report", "--html", "/nonexistent/dir/report.html", "/nonexistent/log.jsonl"])
        #expect(r.status == 73, "cannot create, not 66: the input was not opened")
        #expect(r.stderr == "tcptrace-bpf: cannot write output file /nonexistent/dir/report.html: No such file or directory\n")
        let empty = try Binary.run(["report", "--html", ""])
        #expect(empty.status == 64)
    }
}
