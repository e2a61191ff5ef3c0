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
        // The shared event header (bpf/tcptrace.h), the embedded BPF object, signal shims, zlib.
        .target(name: "CTcptrace", linkerSettings: [.linkedLibrary("z")]),
        // The only Swift module that talks to C: loader, ring buffer, decoding, OS boundary.
        .target(name: "TcptraceBPF", dependencies: ["CLibbpf", "CTcptrace", "TcptraceCore"]),
        // Pure Swift: states, records, formatting. No C, no I/O.
        .target(name: "TcptraceCore"),
        // Options, validation, wiring, the poll loop.
        .target(
            name: "TcptraceCLI",
            dependencies: [
                "TcptraceBPF", "TcptraceCore", "CTcptrace",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "tcptrace-bpf", dependencies: ["TcptraceCLI"]),
        // No root needed: core, decoding, CLI parsing, the embedded object's ABI.
        .testTarget(
            name: "TcptraceTests",
            dependencies: ["TcptraceCore", "TcptraceBPF", "TcptraceCLI", "CTcptrace"]
        ),
        // Root and a BTF kernel: the real program, real loopback connections.
        .testTarget(
            name: "TcptraceKernelTests",
            dependencies: ["TcptraceBPF", "TcptraceCore", "CTcptrace", "CLibbpf"]
        ),
    ]
)
