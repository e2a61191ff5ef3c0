// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "tcptrace-bpf",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "tcptrace-bpf", targets: ["tcptrace-bpf"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // libbpf from the system (Debian: libbpf-dev); nothing else.
        .systemLibrary(
            name: "CLibbpf",
            pkgConfig: "libbpf",
            providers: [.apt(["libbpf-dev", "libelf-dev", "zlib1g-dev"])]
        ),
        // The kernel program's C side: the shared event header (bpf/tcptrace.h) and the
        // embedded object bytes.
        .target(name: "CTcptraceProgram"),
        // The host's C side: sock_diag and zlib headers, signal and write-back shims, libelf for
        // opener stacks' symbols.
        .target(name: "CTcptraceHost", linkerSettings: [.linkedLibrary("z"), .linkedLibrary("elf")]),
        // Pure Swift: states, records, the connection table, formatting, parsing. No C, no I/O.
        .target(name: "TcptraceCore"),
        // The operating system: sock_diag, /proc, sysctls, clocks, files, signals, output.
        .target(name: "TcptraceHost", dependencies: ["CTcptraceHost", "TcptraceCore"]),
        // The kernel program: open, load, attach, ring buffer, decoding, counters.
        .target(name: "TcptraceKernel", dependencies: ["CLibbpf", "CTcptraceProgram", "TcptraceCore", "TcptraceHost"]),
        // The commands: options, validation, wiring. Imports no C.
        .target(
            name: "TcptraceCLI",
            dependencies: [
                "TcptraceKernel", "TcptraceHost", "TcptraceCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "tcptrace-bpf", dependencies: ["TcptraceCLI"]),
        // What both test targets use: the kernel-test gate and skips with a reason, running the
        // built binary and other programs, loopback sockets, temporary paths, waiting.
        .target(name: "TestSupport", dependencies: ["TcptraceKernel", "TcptraceHost", "TcptraceCore"], path: "Tests/TestSupport"),
        // Any user: core, decoding, CLI parsing, the embedded object's ABI and names, the binary's
        // outputs and exit codes, install, report and its HTML page (each part needing a tool or
        // root is skipped saying so).
        .testTarget(
            name: "TcptraceTests",
            dependencies: ["TestSupport", "TcptraceCore", "TcptraceKernel", "TcptraceHost", "TcptraceCLI", "CTcptraceProgram", "CTcptraceHost"]
        ),
        // Root and a BTF kernel: tests that load the real program into the kernel (and the
        // namespaces and cgroups they trace), with real loopback connections.
        .testTarget(
            name: "TcptraceKernelTests",
            dependencies: ["TestSupport", "TcptraceKernel", "TcptraceHost", "TcptraceCore", "CTcptraceProgram", "CTcptraceHost", "CLibbpf"]
        ),
    ]
)
