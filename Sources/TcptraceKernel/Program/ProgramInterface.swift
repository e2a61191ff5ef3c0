import CLibbpf
import CTcptraceProgram
import Glibc
import TcptraceHost

/// Every name of bpf/tcptrace.bpf.c that user space uses: its programs, the maps it opens, and
/// all of its .rodata globals with the C type each one has. The only place these names are
/// spelled in Swift (what a bpftool skeleton or bpf2go would generate); the no-root test
/// `ProgramInterfaceTests` opens the embedded object and checks it against this declaration.
public enum ProgramInterface {
    /// The object's programs, all attached, in this order: the kernel runs a tracepoint's
    /// programs in attach order, and the fallback relies on it ("Exactly once").
    public enum Program: String, CaseIterable, Sendable {
        case main = "handle_set_state"
        case nested = "handle_nested"
        /// tp_btf/tcp_destroy_sock: a socket destroyed in another state than its last hit left
        /// it in (TCPTRACE_CTR_UNSEEN). Attached last, detached first: alone with the others
        /// gone it would take every socket's missing CLOSE for a gap.
        case destroy = "handle_destroy"
        /// Opener stacks of accepted sockets (syscall exit tracepoints): attached after the
        /// three above when the kernel has them; without them the run goes on, saying so once.
        case acceptOpener = "note_accept4"
        case acceptOpenerOld = "note_accept"
        /// iter/bpf_sk_storage_map: the transitions live sockets hold, run once when the run
        /// stops (`Tracer.stop`).
        case heldSum = "sum_held"

        /// Programs the run cannot do without.
        public static var required: [Self] { [.main, .nested, .destroy] }
    }

    /// The maps user space opens.
    public enum Map: String, CaseIterable, Sendable {
        /// The ring buffer of struct tcptrace_event and struct tcptrace_batch, resized before load.
        case events
        /// Per-CPU __u64 counters indexed by enum tcptrace_counter.
        case counters
        /// Opener of each socket by cookie (struct tcptrace_opener), LRU.
        case openers
        /// User stacks by id (TCPTRACE_STACK_DEPTH addresses each).
        case stacks
        /// Each socket's storage (struct sock_state): what `sum_held` iterates over.
        case sockets
        /// [0] = 1 once the run is stopping (handle_destroy).
        case control
        /// The `const volatile` globals below; libbpf finds an internal map by its section name.
        case readOnlyData = ".rodata"
    }

    /// The structs whose BTF layouts are compared with bpf/tcptrace.h: the ring's records.
    public static let eventStruct = "tcptrace_event"
    public static let batchStruct = "tcptrace_batch"

    /// A scalar `const volatile` global in .rodata whose C type has the size of `Value`.
    public struct Global<Value>: Sendable {
        public let name: String
        init(_ name: String) { self.name = name }
    }

    /// A `const volatile` array in .rodata: `count` elements, each the size of `Element`.
    public struct GlobalArray<Element>: Sendable {
        public let name: String
        public let count: Int
        init(_ name: String, count: Int32) {
            self.name = name
            self.count = Int(count)
        }
    }

    /// Every .rodata global of the object, as in C. A stored property here is all it takes to
    /// declare one: the checks find them by reflection.
    public struct Globals: Sendable {
        public let filterFamily = Global<UInt8>("filter_family")
        public let filterOwnerPID = Global<UInt32>("filter_owner_pid")
        public let filterCommSet = Global<UInt8>("filter_comm_set")
        public let filterComm = GlobalArray<UInt8>("filter_comm", count: TCPTRACE_COMM_LEN)
        public let portCount = Global<UInt32>("n_ports")
        public let localPortCount = Global<UInt32>("n_lports")
        public let remotePortCount = Global<UInt32>("n_rports")
        public let ports = GlobalArray<UInt16>("ports", count: TCPTRACE_MAX_PORTS)
        public let localPorts = GlobalArray<UInt16>("lports", count: TCPTRACE_MAX_PORTS)
        public let remotePorts = GlobalArray<UInt16>("rports", count: TCPTRACE_MAX_PORTS)
        public let wakeupBytes = Global<UInt64>("wakeup_bytes")
        public let plainAdds = Global<UInt8>("plain_adds")
        /// Network namespace inode; 0: any.
        public let filterNetns = Global<UInt32>("filter_netns")
        /// cgroup v2 id of a subtree's top cgroup; 0: any.
        public let filterCgroupID = Global<UInt64>("filter_cgroup_id")
        /// That cgroup's level (the root is 0).
        public let filterCgroupLevel = Global<UInt32>("filter_cgroup_level")
        public let taskStackBytes = Global<UInt64>("task_stack_bytes")
        /// 1: aggregated mode, one `tcptrace_batch` per flush instead of an event per transition.
        public let aggregate = Global<UInt8>("aggregate")
        /// Tests only: hits of sockets with this remote port, from `testSkipOld` to
        /// `testSkipNew`, ignored as if the kernel had skipped them (0: none).
        public let testSkipRemotePort = Global<UInt16>("test_skip_rport")
        public let testSkipOld = Global<UInt8>("test_skip_old")
        public let testSkipNew = Global<UInt8>("test_skip_new")
        /// Tests only: 1: the destruction of those sockets is skipped too.
        public let testSkipDestroy = Global<UInt8>("test_skip_destroy")
        /// 1: take opener stacks at connect() and accept() (bpf/opener.bpf.h).
        public let captureStacks = Global<UInt8>("capture_stacks")
        /// Never written: pointers that put the records' structs into the object's BTF.
        public let eventAnchor = Global<UnsafeRawPointer?>("abi_event_anchor")
        public let batchAnchor = Global<UnsafeRawPointer?>("abi_batch_anchor")
        public let openerAnchor = Global<UnsafeRawPointer?>("abi_opener_anchor")
    }

    public static let globals = Globals()

    /// What a global's C type must be: element size and count (1 for a scalar), and whether
    /// the element is an integer (else a pointer).
    public struct GlobalLayout: Hashable, Sendable, CustomStringConvertible {
        public var name: String
        public var elementSize: Int
        public var count: Int
        public var isInteger: Bool

        public var byteSize: Int { elementSize * count }

        public var description: String {
            let element = "\(isInteger ? "integer" : "pointer") of \(elementSize) bytes"
            return count == 1 ? element : "\(count) × \(element) (\(byteSize) bytes)"
        }
    }

    /// The declaration as plain names and layouts, to check an object against.
    public struct Declaration: Sendable {
        public var programs: [String]
        public var maps: [String]
        public var globals: [GlobalLayout]
    }

    public static let declaration = Declaration(
        programs: Program.allCases.map(\.rawValue),
        maps: Map.allCases.map(\.rawValue),
        globals: Mirror(reflecting: globals).children.map { child in
            guard let g = child.value as? any DeclaredGlobal else {
                fatalError("ProgramInterface.Globals.\(child.label ?? "?") is not a Global or GlobalArray")
            }
            return g.layout
        })
}

/// Lets the declaration read every global's layout, whatever its Swift type.
protocol DeclaredGlobal {
    var layout: ProgramInterface.GlobalLayout { get }
}

extension ProgramInterface.Global: DeclaredGlobal {
    var layout: ProgramInterface.GlobalLayout {
        .init(name: name, elementSize: MemoryLayout<Value>.size, count: 1, isInteger: Value.self is any FixedWidthInteger.Type)
    }
}

extension ProgramInterface.GlobalArray: DeclaredGlobal {
    var layout: ProgramInterface.GlobalLayout {
        .init(
            name: name, elementSize: MemoryLayout<Element>.size, count: count,
            isInteger: Element.self is any FixedWidthInteger.Type)
    }
}

/// One .rodata global as the object's BTF lays it out.
struct ObjectGlobal {
    var offset: Int
    var layout: ProgramInterface.GlobalLayout
}

extension ProgramInterface {
    /// The .rodata globals of an opened (not necessarily loaded) object, from its BTF.
    static func readOnlyGlobals(of object: OpaquePointer) throws(SystemError) -> [String: ObjectGlobal] {
        let btf = try check("bpf_object__btf", bpf_object__btf(object))
        let id = btf__find_by_name_kind(btf, Map.readOnlyData.rawValue, BTFKind.datasec)
        guard id > 0, let sec = btf__type_by_id(btf, UInt32(id)) else { throw .call("find BTF of .rodata", errno: ENOENT) }
        let infos = btf_var_secinfos(sec)!
        var out: [String: ObjectGlobal] = [:]
        for i in 0..<Int(btf_vlen(sec)) {
            guard let v = btf__type_by_id(btf, infos[i].type) else { continue }
            let name = String(cString: btf__name_by_offset(btf, v.pointee.name_off))
            let size = Int(infos[i].size)
            var layout = GlobalLayout(name: name, elementSize: size, count: 1, isInteger: false)
            // The variable's type with const/volatile/typedefs stripped.
            let resolved = btf__resolve_type(btf, v.pointee.type)
            if resolved > 0, let t = btf__type_by_id(btf, UInt32(resolved)) {
                if btf_is_array(t), let array = btf_array(t) {
                    let element = btf__resolve_type(btf, array.pointee.type)
                    layout.count = Int(array.pointee.nelems)
                    layout.elementSize = Int(btf__resolve_size(btf, array.pointee.type))
                    if element > 0, let e = btf__type_by_id(btf, UInt32(element)) {
                        layout.isInteger = btf_is_int(e) || btf_is_any_enum(e)
                    }
                } else {
                    layout.isInteger = btf_is_int(t) || btf_is_any_enum(t)
                }
            }
            out[name] = ObjectGlobal(offset: Int(infos[i].offset), layout: layout)
        }
        return out
    }

    /// Every difference between `declaration` and the object, in words; empty when they agree.
    /// Needs no privileges: the object is opened, not loaded.
    public static func mismatches(of object: OpaquePointer, against declaration: Declaration) throws(SystemError) -> [String] {
        var problems: [String] = []
        var programs = Set<String>()
        var p: OpaquePointer? = nil
        while let next = bpf_object__next_program(object, p) {
            programs.insert(String(cString: bpf_program__name(next)))
            p = next
        }
        for name in declaration.programs where !programs.contains(name) {
            problems.append("program \(name) is declared in Swift but not in the object")
        }
        for name in programs.subtracting(declaration.programs) {
            problems.append("program \(name) is in the object but not declared in Swift (it would never be attached)")
        }
        for name in declaration.maps where bpf_object__find_map_by_name(object, name) == nil {
            problems.append("map \(name) is declared in Swift but not in the object")
        }
        let inObject = try readOnlyGlobals(of: object)
        var declared = Set<String>()
        for want in declaration.globals {
            if !declared.insert(want.name).inserted {
                problems.append("global \(want.name) is declared twice in Swift")
            }
            guard let have = inObject[want.name]?.layout else {
                problems.append("global \(want.name) is declared in Swift but not in the object's .rodata")
                continue
            }
            if have.byteSize != want.byteSize || have.count != want.count || have.elementSize != want.elementSize
                || have.isInteger != want.isInteger
            {
                problems.append("global \(want.name): object has \(have), Swift declares \(want)")
            }
        }
        for name in Set(inObject.keys).subtracting(declared) {
            problems.append("global \(name) is in the object's .rodata but not declared in Swift")
        }
        return problems.sorted()
    }
}

extension ProgramInterface.Program {
    func find(in object: OpaquePointer) throws(SystemError) -> OpaquePointer {
        try check("bpf_object__find_program_by_name(\(rawValue))", bpf_object__find_program_by_name(object, rawValue))
    }
}

extension ProgramInterface.Map {
    func find(in object: OpaquePointer) throws(SystemError) -> OpaquePointer {
        try check("bpf_object__find_map_by_name(\(rawValue))", bpf_object__find_map_by_name(object, rawValue))
    }
}
