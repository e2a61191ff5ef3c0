import Synchronization

/// A resolved container by number. Records carry this plain value, not a reference, so that a
/// transition stays trivially copyable on the per-event path; `ContainerRegistry` holds the
/// containers.
public struct ContainerHandle: Hashable, Sendable {
    let generation: UInt32
    let index: UInt32
}

/// Every container a record has named, interned once: bounded (cleared when full, which makes
/// older handles read as unknown) and locked, since parsing may run on several threads.
public final class ContainerRegistry: Sendable {
    public static let shared = ContainerRegistry()
    public static let capacity = 4096
    struct State {
        var generation: UInt32 = 0
        var infos: [ContainerInfo] = []
        var indices: [ContainerInfo: UInt32] = [:]
    }
    private let state = Mutex(State())

    public func intern(_ info: ContainerInfo) -> ContainerHandle {
        state.withLock { s in
            if let i = s.indices[info] { return ContainerHandle(generation: s.generation, index: i) }
            if s.infos.count >= Self.capacity {
                s.generation &+= 1
                s.infos.removeAll(keepingCapacity: true)
                s.indices.removeAll(keepingCapacity: true)
            }
            let i = UInt32(s.infos.count)
            s.infos.append(info)
            s.indices[info] = i
            return ContainerHandle(generation: s.generation, index: i)
        }
    }

    /// The container, or nil for a handle from before the registry was last cleared.
    public func info(_ h: ContainerHandle) -> ContainerInfo? {
        state.withLock { s in s.generation == h.generation && Int(h.index) < s.infos.count ? s.infos[Int(h.index)] : nil }
    }
}

/// `ContainerField` for a `ContainerHandle` (a handle the registry no longer knows is `null`).
public enum SharedContainerField: FieldFormat {
    public typealias Value = ContainerHandle
    public static var jsonType: String { ContainerField.jsonType }
    @inlinable public static var maxBytes: Int { ContainerField.maxBytes }
    public static func extraBytes(_ value: ContainerHandle) -> Int {
        ContainerRegistry.shared.info(value).map(ContainerField.extraBytes) ?? 0
    }
    public static func json(_ value: ContainerHandle, _ c: inout ByteCursor) {
        if let info = ContainerRegistry.shared.info(value) { ContainerField.json(info, &c) } else { c.ascii("null") }
    }
    public static func text(_ value: ContainerHandle, _ c: inout ByteCursor) {
        if let info = ContainerRegistry.shared.info(value) { ContainerField.text(info, &c) } else { c.byte(UInt8(ascii: "-")) }
    }
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> ContainerHandle? {
        try ContainerField.read(&p).map(ContainerRegistry.shared.intern)
    }
}

extension SharedContainerField: NestedSchema {
    static var step: String { "." }
    static func describe(into t: inout SchemaTable) { Object<ContainerInfo>.describe(into: &t) }
}
