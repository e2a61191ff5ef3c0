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
        // The host's C side: sock_diag and zlib headers, signal and write-back shims.
        .target(name: "CTcptraceHost", linkerSettings: [.linkedLibrary("z")]),
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
        // No root needed: core, decoding, CLI parsing, the embedded object's ABI and names.
        .testTarget(
            name: "TcptraceTests",
            dependencies: ["TcptraceCore", "TcptraceKernel", "TcptraceHost", "TcptraceCLI", "CTcptraceProgram"]
        ),
        // Root and a BTF kernel: the real program, real loopback connections.
        .testTarget(
            name: "TcptraceKernelTests",
            dependencies: ["TcptraceKernel", "TcptraceHost", "TcptraceCore", "CTcptraceProgram", "CTcptraceHost", "CLibbpf"]
        ),
    ]
)
