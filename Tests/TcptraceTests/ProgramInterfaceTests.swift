import CLibbpf
import CTcptraceProgram
import Testing
import TcptraceCore
@testable import TcptraceKernel
@testable import TcptraceHost

/// The names Swift uses against the embedded object, checked without root: a program, map or
/// global renamed, resized or added on one side only fails here, not at load time.
@Suite struct ProgramInterfaceTests {
    typealias Layout = ProgramInterface.GlobalLayout

    @Test func embeddedObjectMatchesTheDeclaration() throws {
        let problems = try EmbeddedObject.interfaceMismatches()
        #expect(problems.isEmpty, "bpf/tcptrace.bpf.c and ProgramInterface disagree: \(problems)")
    }

    /// Plain adds only where the kernel skips a program nested in itself: Linux 6.1 and later.
    @Test func plainAddsFromTheKernelRelease() {
        for (release, plain) in [
            ("6.18.44-fc-v1300", true), ("6.1.0-57-rt-amd64", true), ("6.12.118+deb12-amd64", true), ("7.0.0", true),
            ("6.0.19", false), ("5.15.0-91-generic", false), ("5.10.0-28-amd64", false), ("", false), ("garbage", false), ("6", false),
        ] {
            #expect(Tracer.skipsNestedPrograms(release: release) == plain, "\(release)")
        }
    }

    @Test func declarationListsEveryGlobalOnce() {
        let d = ProgramInterface.declaration
        #expect(d.programs == ["handle_set_state", "handle_nested", "handle_destroy", "note_accept4", "note_accept", "sum_held"], "attach order: main program first, the destroy check last of the required ones, then the optional accept stacks")
        #expect(ProgramInterface.Program.required == [.main, .nested, .destroy])
        #expect(Set(d.globals.map(\.name)).count == d.globals.count)
        // Reflection found them all (one per stored property of Globals).
        #expect(d.globals.count == Mirror(reflecting: ProgramInterface.globals).children.count)
        #expect(d.globals.first { $0.name == "ports" } == Layout(name: "ports", elementSize: 2, count: 8, isInteger: true))
        #expect(d.globals.first { $0.name == "abi_event_anchor" } == Layout(name: "abi_event_anchor", elementSize: 8, count: 1, isInteger: false))
    }

    /// The check itself can fail: each kind of disagreement, planted in a copy of the real
    /// declaration, is reported by name.
    @Test func aWrongDeclarationIsReported() throws {
        var d = ProgramInterface.declaration
        d.programs.removeAll { $0 == "handle_nested" }  // a program C has and Swift does not
        d.programs.append("handle_renamed")  // a program Swift has and C does not
        d.maps.append("evnets")
        d.globals.removeAll { $0.name == "wakeup_bytes" }  // a global C has and Swift does not
        d.globals.append(Layout(name: "filter_uid", elementSize: 4, count: 1, isInteger: true))
        func change(_ name: String, _ edit: (inout Layout) -> Void) {
            let i = d.globals.firstIndex { $0.name == name }!
            edit(&d.globals[i])
        }
        change("filter_family") { $0.elementSize = 2 }  // __u8 declared as UInt16
        change("ports") { $0.count = 4 }  // __u16[8] declared with 4 elements
        change("filter_comm") { $0.elementSize = 2; $0.count = 8 }  // same 16 bytes, other elements
        change("task_stack_bytes") { $0.isInteger = false }
        let problems = try EmbeddedObject.interfaceMismatches(against: d)
        let expected = [
            "program handle_nested is in the object but not declared",
            "program handle_renamed is declared in Swift but not in the object",
            "map evnets is declared in Swift but not in the object",
            "global wakeup_bytes is in the object's .rodata but not declared",
            "global filter_uid is declared in Swift but not in the object",
            "global filter_family: object has integer of 1 bytes",
            "global ports: object has 8 × integer of 2 bytes",
            "global filter_comm: object has 16 × integer of 1 bytes",
            "global task_stack_bytes: object has integer of 8 bytes",
        ]
        for e in expected {
            #expect(problems.contains { $0.hasPrefix(e) }, "\(e) … not reported in \(problems)")
        }
        #expect(problems.count == expected.count, "\(problems)")
    }

    /// Every setting reaches its global, at the offset in the object's BTF, without loading.
    @Test func settingsAreWrittenWhereTheObjectHasThem() throws {
        let object = try EmbeddedObject.openObject(name: "tcptrace-settings-check")
        defer { bpf_object__close(object) }
        var c = Tracer.Configuration()
        c.ringBufferBytes = 1 << 16
        c.wakeupBytes = 4096
        c.filter.family = .ipv6
        c.filter.ownerPID = 0x0102_0304
        c.filter.ownerComm = "nginx"
        c.filter.ports = [80, 443]
        c.filter.remotePorts = [5432]
        c.filter.netns = 4_026_532_001
        c.filter.cgroupSubtree = CgroupSubtree(id: 0x1_0000_0203, level: 3)
        c.aggregate = true
        try Tracer.applySettings(c, to: object)
        let rodata = try ReadOnlyData(object: object)  // reads back what libbpf will load
        func value(_ name: String) -> [UInt8] { Array(rodata.value(of: name) ?? []) }
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        #expect(value("filter_family") == [6])
        #expect(value("filter_owner_pid") == le(UInt32(0x0102_0304)))
        #expect(value("filter_comm_set") == [1])
        #expect(value("filter_comm") == Array("nginx".utf8) + [UInt8](repeating: 0, count: 11))
        #expect(value("n_ports") == le(UInt32(2)) && value("n_lports") == le(UInt32(0)) && value("n_rports") == le(UInt32(1)))
        #expect(value("ports") == le(UInt16(80)) + le(UInt16(443)) + [UInt8](repeating: 0, count: 12))
        #expect(value("lports") == [UInt8](repeating: 0, count: 16))
        #expect(value("rports") == le(UInt16(5432)) + [UInt8](repeating: 0, count: 14))
        #expect(value("wakeup_bytes") == le(UInt64(4096)))
        #expect(value("filter_netns") == le(UInt32(4_026_532_001)))
        #expect(value("filter_cgroup_id") == le(UInt64(0x1_0000_0203)) && value("filter_cgroup_level") == le(UInt32(3)))
        #expect(value("task_stack_bytes") == le(Tracer.taskStackBytes()))
        #expect(value("plain_adds") == [Tracer.skipsNestedPrograms(release: Tracer.kernelRelease()) ? 1 : 0])
        #expect(value("aggregate") == [1])
        #expect(bpf_map__max_entries(try ProgramInterface.Map.events.find(in: object)) == 1 << 16)
    }

    /// No filter leaves the namespace and cgroup settings at 0 ("any"); 0 as a value is refused
    /// (no namespace or cgroup has it), not taken as "any".
    @Test func namespaceAndCgroupFiltersDefaultToAnyAndRefuseZero() throws {
        let object = try EmbeddedObject.openObject(name: "tcptrace-settings-check")
        defer { bpf_object__close(object) }
        try Tracer.applySettings(Tracer.Configuration(), to: object)
        let rodata = try ReadOnlyData(object: object)
        for name in ["filter_netns", "filter_cgroup_id", "filter_cgroup_level", "aggregate"] {
            #expect(rodata.value(of: name)?.allSatisfy { $0 == 0 } == true, "\(name)")
        }
        var c = Tracer.Configuration()
        c.filter.netns = 0
        #expect(throws: SystemError.self) { try Tracer.applySettings(c, to: object) }
        c = Tracer.Configuration()
        c.filter.cgroupSubtree = CgroupSubtree(id: 0, level: 0)
        #expect(throws: SystemError.self) { try Tracer.applySettings(c, to: object) }
    }

    @Test func tooManyElementsAreRefused() throws {
        let object = try EmbeddedObject.openObject(name: "tcptrace-settings-check")
        defer { bpf_object__close(object) }
        var rodata = try ReadOnlyData(object: object)
        #expect(throws: SystemError.self) { try rodata.set(\.ports, [UInt16](repeating: 1, count: Int(TCPTRACE_MAX_PORTS) + 1)) }
    }
}
