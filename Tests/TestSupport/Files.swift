import Foundation
import Glibc
import Testing

/// A path under /tmp of this test process and the calling file's suite (`#fileID`): suites run
/// in parallel in one process, so the same `name` in two files never collides.
public func tempPath(_ name: String, file: StaticString = #fileID) -> String {
    let suite = "\(file)".split(separator: "/").last.map { String($0.prefix { $0 != "." }) } ?? "test"
    return "/tmp/tcptrace-test-\(getpid())-\(suite)-\(name)"
}

/// Probes every `every` seconds until `probe` holds or `seconds` have passed (then once more):
/// whether it held.
@discardableResult
public func eventually(seconds: Double, every interval: Double = 0.1, _ probe: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try probe() { return true }
        usleep(UInt32(interval * 1_000_000))
    }
    return try probe()
}

/// Parses JSON lines; fails the test on any line that is not a JSON object.
public func jsonLines(_ text: String) -> [[String: Any]] {
    var out: [[String: Any]] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.isEmpty { continue }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            Issue.record("not a JSON object: \(line)")
            continue
        }
        out.append(obj)
    }
    return out
}

/// The records in a JSON lines file a tracer is still writing: its last line may be cut, and
/// the file may not exist yet (both: left out, not failures).
public func records(in file: String) -> [[String: Any]] {
    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
}

/// Waits until `file` holds a record matching `predicate`, up to `seconds`; the first such record.
@discardableResult
public func waitForRecord(in file: String, seconds: Double, _ predicate: ([String: Any]) -> Bool) -> [String: Any]? {
    var found: [String: Any]?
    eventually(seconds: seconds) {
        found = records(in: file).first(where: predicate)
        return found != nil
    }
    return found
}

/// Waits until `file` holds at least `count` records matching `predicate`, up to `seconds`.
public func waitForRecords(in file: String, seconds: Double, count: Int, _ predicate: ([String: Any]) -> Bool) -> Bool {
    eventually(seconds: seconds) { records(in: file).filter(predicate).count >= count }
}

/// The repository's root (this file is Tests/TestSupport/Files.swift).
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
