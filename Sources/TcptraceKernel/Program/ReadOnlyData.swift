import CLibbpf
import CTcptraceProgram
import Glibc
import TcptraceCore
import TcptraceHost

/// The object's .rodata (its `const volatile` settings), written before load through the
/// typed declaration in ProgramInterface, at the offsets in the object's BTF.
struct ReadOnlyData {
    typealias Globals = ProgramInterface.Globals
    let map: OpaquePointer
    var bytes: [UInt8]
    let globals: [String: ObjectGlobal]

    init(object: OpaquePointer) throws(SystemError) {
        map = try ProgramInterface.Map.readOnlyData.find(in: object)
        var size = 0
        let initial = try check("bpf_map__initial_value(.rodata)", bpf_map__initial_value(map, &size))
        bytes = Array(UnsafeRawBufferPointer(start: initial, count: size))
        globals = try ProgramInterface.readOnlyGlobals(of: object)
    }

    mutating func set<T: FixedWidthInteger>(_ global: KeyPath<Globals, ProgramInterface.Global<T>>, _ value: T) throws(SystemError) {
        let g = ProgramInterface.globals[keyPath: global]
        try write(g.name, g.layout, withUnsafeBytes(of: value) { Array($0) })
    }

    /// The first `values.count` elements; the rest are zeroed.
    mutating func set<T: FixedWidthInteger>(_ global: KeyPath<Globals, ProgramInterface.GlobalArray<T>>, _ values: [T]) throws(SystemError) {
        let g = ProgramInterface.globals[keyPath: global]
        guard values.count <= g.count else { throw .call("setting \(g.name) in .rodata (\(values.count) > \(g.count) elements)", errno: EINVAL) }
        try write(g.name, g.layout, values.flatMap { v in withUnsafeBytes(of: v) { Array($0) } })
    }

    /// Refuses a global whose layout in the object is not the declared one.
    private mutating func write(_ name: String, _ declared: ProgramInterface.GlobalLayout, _ value: [UInt8]) throws(SystemError) {
        guard let v = globals[name], v.layout == declared, v.offset + declared.byteSize <= bytes.count else {
            throw .call("setting \(name) in .rodata (not in the object as declared)", errno: EINVAL)
        }
        for i in 0..<declared.byteSize { bytes[v.offset + i] = i < value.count ? value[i] : 0 }
    }

    /// Hands the settings to libbpf, which loads them with the object.
    func commit() throws(SystemError) {
        try check("bpf_map__set_initial_value(.rodata)", bpf_map__set_initial_value(map, bytes, bytes.count))
    }

    /// The bytes of a global as they will be loaded (for tests).
    func value(of name: String) -> ArraySlice<UInt8>? {
        guard let v = globals[name], v.offset + v.layout.byteSize <= bytes.count else { return nil }
        return bytes[v.offset..<(v.offset + v.layout.byteSize)]
    }
}

/// BTF kind numbers (include/uapi/linux/btf.h); both libbpf and the kernel headers declare
/// them, which makes the imported names ambiguous in Swift.
enum BTFKind {
    static let structure: UInt32 = 4
    static let typedef: UInt32 = 8
    static let datasec: UInt32 = 15
}
