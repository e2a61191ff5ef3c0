import Foundation
import Glibc
import Testing
import TcptraceKernel

/// Kernel tests run as root on a kernel with BTF. Elsewhere they are skipped, unless
/// TCPTRACE_REQUIRE_KERNEL_TESTS=1 (CI), which turns the skip into a failure.
public enum KernelGate {
    public static var required: Bool { ProcessInfo.processInfo.environment["TCPTRACE_REQUIRE_KERNEL_TESTS"] == "1" }

    public static var unavailableReason: String? {
        if geteuid() != 0 { return "not root" }
        if access(Preflight.kernelBTFPath, R_OK) != 0 { return "no kernel BTF" }
        return nil
    }

    /// For a suite's `.enabled(if:)`: off (skipped with the trait's reason) unless the tests
    /// can run or are required.
    public static var enabled: Bool { required || unavailableReason == nil }

    /// Call first in every kernel test: fails loudly when the tests are required but cannot run.
    public static func check() throws {
        if let reason = unavailableReason {
            Issue.record("kernel tests are required (TCPTRACE_REQUIRE_KERNEL_TESTS=1) but cannot run: \(reason)")
            throw CancellationError()
        }
    }
}

/// What a test needs that a machine may lack (a program, root). Without it the test is skipped
/// with the reason, so that `make test` passes for any user and says what it left out, except
/// where every test is required (TCPTRACE_REQUIRE_KERNEL_TESTS=1, CI): there a skip would hide
/// a test that never ran, so it fails.
public enum Requirement {
    /// Skips (or, when required, fails) the running test unless `condition` holds.
    public static func that(_ condition: Bool, _ reason: @autoclosure () -> String) throws {
        if condition { return }
        if KernelGate.required {
            Issue.record("every test is required (TCPTRACE_REQUIRE_KERNEL_TESTS=1) but \(reason())")
            throw CancellationError()
        }
        try Test.cancel(Comment(rawValue: reason()))
    }

    /// The program `name` (looked up in PATH, /usr/sbin and /sbin), from Debian package `package`.
    @discardableResult
    public static func program(_ name: String, package: String) throws -> String {
        let found = Command.which(name)
        try that(found != nil, "\(name) is not installed (Debian package \(package); `sudo make test` installs it)")
        return found!
    }

    /// For a suite's or a parameterized test's `.enabled(if:)` (a test case cancelled from
    /// inside is not reported): on as root, or when every test is required.
    public static var rootOrRequired: Bool { geteuid() == 0 || KernelGate.required }

    /// Root: `why` says what for.
    public static func root(_ why: String) throws {
        try that(geteuid() == 0, "not root: \(why)")
    }
}
