import Foundation
import Glibc

/// What a program run to its end did.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs programs the tests need (the built binary, ss, make, groff, …): one runner for all.
public enum Command {
    /// Runs `argv` to its end: argv[0] is a path, or a name looked up in PATH (through
    /// /usr/bin/env). `input` goes to its standard input; both outputs are read while it runs (a
    /// child writing more than a pipe holds would otherwise block and never exit). Past `timeout`
    /// seconds it is terminated.
    public static func run(
        _ argv: [String], input: String? = nil, environment: [String: String] = [:], in directory: String? = nil,
        timeout: Double = 120
    ) throws -> CommandResult {
        let p = Process()
        if argv[0].contains("/") {
            p.executableURL = URL(fileURLWithPath: argv[0])
            p.arguments = Array(argv.dropFirst())
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = argv
        }
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let stdin = input.map { _ in Pipe() }
        p.standardInput = stdin ?? FileHandle.nullDevice
        try p.run()
        let outText = PipeDrain(out.fileHandleForReading), errText = PipeDrain(err.fileHandleForReading)
        if let stdin, let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        _ = eventually(seconds: timeout, every: 0.01) { !p.isRunning }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        return CommandResult(status: p.terminationStatus, stdout: outText.text(), stderr: errText.text())
    }

    /// The path of program `name`: PATH first, then the system directories a plain user's PATH
    /// may lack.
    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            let candidate = dir + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// Runs a command to completion; throws with its stderr when it fails.
@discardableResult
public func command(_ argv: [String]) throws -> String {
    let r = try Command.run(argv)
    if r.status != 0 {
        throw SocketError(op: "\(argv.joined(separator: " ")): exit \(r.status): \(r.stderr)", errno: 0)
    }
    return r.stdout
}

/// Everything a pipe delivers until EOF, read on a thread of its own.
public final class PipeDrain: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    public init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    public func text() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}

/// The tcptrace-bpf executable built next to this test bundle (`swift build` first).
public enum Binary {
    public static var path: String {
        // Another build of it (today's main, to see a new test fail there): TCPTRACE_TEST_BINARY.
        if let other = ProcessInfo.processInfo.environment["TCPTRACE_TEST_BINARY"], !other.isEmpty { return other }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("tcptrace-bpf").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("tcptrace-bpf").path
    }

    public typealias Result = CommandResult

    /// setpriv's arguments that run what follows as user nobody (root only).
    public static let asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

    /// Runs the binary to completion (through `prefix`, e.g. setpriv, which execs it).
    public static func run(
        _ args: [String], prefix: [String] = [], environment: [String: String] = [:], in directory: String? = nil,
        timeout: Double = 20
    ) throws -> Result {
        try Command.run(prefix + [path] + args, environment: environment, in: directory, timeout: timeout)
    }

    /// Starts the binary (through `prefix`, e.g. setpriv, which execs it) and returns once it
    /// says it is tracing (its banner on stderr).
    public static func start(_ args: [String], stdout: Any? = nil, prefix: [String] = []) throws -> (Process, Pipe) {
        let p = Process()
        let err = Pipe()
        p.executableURL = URL(fileURLWithPath: prefix.first ?? path)
        p.arguments = prefix.isEmpty ? args : Array(prefix.dropFirst()) + [path] + args
        p.standardError = err
        if let stdout { p.standardOutput = stdout }
        try p.run()
        var seen = Data()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
            if String(decoding: seen, as: UTF8.self).contains("tracing TCP state transitions") { return (p, err) }
        }
        p.terminate()
        throw SocketError(op: "tcptrace-bpf did not start: \(String(decoding: seen, as: UTF8.self))", errno: 0)
    }
}
