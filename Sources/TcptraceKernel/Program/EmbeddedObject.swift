import TcptraceHost
import CLibbpf
import CTcptraceProgram

/// The BPF object compiled from bpf/ and embedded in this binary.
public enum EmbeddedObject {
    public static var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: tcptrace_bpf_object_ptr(), count: tcptrace_bpf_object_size)
    }

    /// Compares the ring records' structs (tcptrace_event, tcptrace_batch) as compiled into the
    /// object (its BTF) with the same structs as compiled into this binary. Any difference means
    /// the object is stale. Needs no privileges: the object is opened, not loaded.
    public static func eventLayoutMismatches() throws(SystemError) -> [String] {
        let object = try openObject(name: "tcptrace-abi-check")
        defer { bpf_object__close(object) }
        guard let btf = bpf_object__btf(object) else { return ["the embedded object has no BTF"] }
        let event = UnsafeBufferPointer(start: tcptrace_event_fields_ptr(), count: tcptrace_event_field_count)
        let batch = UnsafeBufferPointer(start: tcptrace_batch_fields_ptr(), count: tcptrace_batch_field_count)
        return (layoutMismatches(btf, ProgramInterface.eventStruct, size: MemoryLayout<tcptrace_event>.size, fields: event)
            + layoutMismatches(btf, ProgramInterface.batchStruct, size: MemoryLayout<tcptrace_batch>.size, fields: batch)).sorted()
    }

    private static func layoutMismatches(
        _ btf: OpaquePointer, _ name: String, size headerSize: Int, fields: UnsafeBufferPointer<tcptrace_field_layout>
    ) -> [String] {
        let id = btf__find_by_name_kind(btf, name, BTFKind.structure)
        guard id > 0, let type = btf__type_by_id(btf, UInt32(id)) else {
            return ["struct \(name) is missing from the embedded object's BTF"]
        }
        var problems: [String] = []
        let size = Int(type.pointee.size)
        if size != headerSize {
            problems.append("sizeof(struct \(name)): object \(size), header \(headerSize)")
        }
        var expected: [String: (offset: Int, size: Int)] = [:]
        for f in fields { expected[String(cString: f.name)] = (Int(f.offset), Int(f.size)) }
        let members = btf_members(type)!
        var seen = Set<String>()
        for i in 0..<Int(btf_vlen(type)) {
            let m = members[i]
            let field = String(cString: btf__name_by_offset(btf, m.name_off))
            seen.insert(field)
            let offset = Int(btf_member_bit_offset(type, UInt32(i)) / 8)
            let fieldSize = Int(btf__resolve_size(btf, m.type))
            guard let want = expected[field] else {
                problems.append("\(name).\(field) is in the object but not in bpf/tcptrace.h")
                continue
            }
            if want.offset != offset || want.size != fieldSize {
                problems.append("\(name).\(field): object offset \(offset) size \(fieldSize), header offset \(want.offset) size \(want.size)")
            }
        }
        for field in expected.keys where !seen.contains(field) {
            problems.append("\(name).\(field) is in bpf/tcptrace.h but not in the object")
        }
        return problems
    }

    /// Compares the object's programs, maps and .rodata globals with `declaration` (by default
    /// the one Tracer uses). Needs no privileges: the object is opened, not loaded.
    public static func interfaceMismatches(
        against declaration: ProgramInterface.Declaration = ProgramInterface.declaration
    ) throws(SystemError) -> [String] {
        let object = try openObject(name: "tcptrace-names-check")
        defer { bpf_object__close(object) }
        return try ProgramInterface.mismatches(of: object, against: declaration)
    }

    static func openObject(name: String) throws(SystemError) -> OpaquePointer {
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        let obj = name.withCString { cname -> OpaquePointer? in
            opts.object_name = cname
            return bpf_object__open_mem(bytes.baseAddress, bytes.count, &opts)
        }
        return try check("bpf_object__open_mem", obj)
    }
}
