import Testing
@testable import TcptraceCore

/// Cgroup paths in the shapes runtimes and the kubelet really make (most ids and uids from real hosts'
/// `systemd-cgls` and /proc/PID/cgroup output), and what each says about its container.
@Suite struct ContainerInfoTests {
    // Real ids: a minikube node container, containerd and cri-o containers, podman.
    let dockerID = "d6701ec289c56e4391acb11d07474b3139466857a305490575508a8b7a9fcf22"
    let containerdID = "2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36"
    let crioID = "5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c"
    let podmanID = "0411a2a82311fbc65b137ca550d5f7e6b6863bc734759be2f515b0b67062d49a"

    func parse(_ path: String) -> ContainerInfo { ContainerInfo.parse(cgroupPath: path) }

    // MARK: docker

    @Test func dockerCgroupfsDriver() {
        #expect(parse("/docker/\(dockerID)") == ContainerInfo(path: "/docker/\(dockerID)", runtime: "docker", id: dockerID))
    }

    @Test func dockerSystemdDriver() {
        let p = "/system.slice/docker-\(dockerID).scope"
        #expect(parse(p) == ContainerInfo(path: p, runtime: "docker", id: dockerID))
    }

    @Test func dockerRootlessUnderTheUserManager() {
        let p = "/user.slice/user-1000.slice/user@1000.service/user.slice/docker-\(dockerID).scope"
        #expect(parse(p) == ContainerInfo(path: p, runtime: "docker", id: dockerID))
    }

    @Test func unitsInsideAContainerReadAsTheContainer() {
        // systemd running inside a container (cgroup namespace): its units are the container's.
        let p = "/system.slice/docker-\(dockerID).scope/init.scope"
        #expect(parse(p) == ContainerInfo(path: p, runtime: "docker", id: dockerID))
        let q = "/docker/\(dockerID)/system.slice/nginx.service"
        #expect(parse(q).runtime == "docker" && parse(q).id == dockerID)
    }

    @Test func dockerInDockerIsTheInnerContainer() {
        let p = "/docker/\(dockerID)/docker/\(containerdID)"
        #expect(parse(p).runtime == "docker" && parse(p).id == containerdID)
    }

    // MARK: Kubernetes

    @Test func containerdSystemdDriverBurstable() {
        let p =
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod55c6c714_b240_4dec_9a45_57b61696ab6e.slice/cri-containerd-\(containerdID).scope"
        #expect(
            parse(p)
                == ContainerInfo(path: p, runtime: "containerd", id: containerdID, podUID: "55c6c714-b240-4dec-9a45-57b61696ab6e"))
    }

    @Test func containerdSystemdDriverBestEffortAndGuaranteed() {
        let b =
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podc8bad552_5c99_4d4f_b71c_c426c0cde014.slice/cri-containerd-\(containerdID).scope"
        #expect(parse(b).podUID == "c8bad552-5c99-4d4f-b71c-c426c0cde014" && parse(b).runtime == "containerd")
        // Guaranteed pods have no QoS level: they sit directly under kubepods.slice.
        let g = "/kubepods.slice/kubepods-podadcfbb42_ec24_48ae_a259_f756c8d1f046.slice/cri-containerd-\(containerdID).scope"
        #expect(parse(g) == ContainerInfo(path: g, runtime: "containerd", id: containerdID, podUID: "adcfbb42-ec24-48ae-a259-f756c8d1f046"))
    }

    @Test func staticPodUIDIsAConfigHash() {
        let p = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8daa50c3a64c9ff60bb9eab7b44b56fd.slice/cri-containerd-\(containerdID).scope"
        #expect(parse(p).podUID == "8daa50c3a64c9ff60bb9eab7b44b56fd")
    }

    @Test func kindNodesNestTheKubeletUnderItsOwnSlice() {
        let p =
            "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod1e597579_417e_482f_bf65_5fe170c3aebd.slice/cri-containerd-d7dfb4a21fe1703a8537e60d5af248af729315d187b24a538102d14874c8117d.scope"
        #expect(
            parse(p)
                == ContainerInfo(
                    path: p, runtime: "containerd", id: "d7dfb4a21fe1703a8537e60d5af248af729315d187b24a538102d14874c8117d",
                    podUID: "1e597579-417e-482f-bf65-5fe170c3aebd"))
    }

    @Test func containerdCgroupfsDriver() {
        let p = "/kubepods/besteffort/pod2ca4a155-3599-498d-bb9d-4446693fa3ea/\(containerdID)"
        #expect(parse(p) == ContainerInfo(path: p, runtime: "containerd", id: containerdID, podUID: "2ca4a155-3599-498d-bb9d-4446693fa3ea"))
        let burstable = "/kubepods/burstable/pod55c6c714-b240-4dec-9a45-57b61696ab6e/\(containerdID)"
        #expect(parse(burstable).podUID == "55c6c714-b240-4dec-9a45-57b61696ab6e" && parse(burstable).id == containerdID)
        let guaranteed = "/kubepods/pod55c6c714-b240-4dec-9a45-57b61696ab6e/\(containerdID)"
        #expect(parse(guaranteed).podUID == "55c6c714-b240-4dec-9a45-57b61696ab6e" && parse(guaranteed).runtime == "containerd")
    }

    @Test func podWithoutAContainerIsKubepods() {
        let p = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poda5c1f8d5_1919_434d_add7_4afaafdaef89.slice"
        #expect(parse(p) == ContainerInfo(path: p, runtime: "kubepods", podUID: "a5c1f8d5-1919-434d-add7-4afaafdaef89"))
        let cgroupfs = "/kubepods/burstable/poda5c1f8d5-1919-434d-add7-4afaafdaef89"
        #expect(parse(cgroupfs) == ContainerInfo(path: cgroupfs, runtime: "kubepods", podUID: "a5c1f8d5-1919-434d-add7-4afaafdaef89"))
        // QoS level only: the kubepods hierarchy, no pod.
        #expect(parse("/kubepods.slice/kubepods-besteffort.slice") == ContainerInfo(path: "/kubepods.slice/kubepods-besteffort.slice", runtime: "kubepods"))
        #expect(parse("/kubepods/burstable") == ContainerInfo(path: "/kubepods/burstable", runtime: "kubepods"))
    }

    @Test func crioSystemdDriverAndConmon() {
        let p =
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poda5c1f8d5_1919_434d_add7_4afaafdaef89.slice/crio-\(crioID).scope"
        #expect(parse(p) == ContainerInfo(path: p, runtime: "cri-o", id: crioID, podUID: "a5c1f8d5-1919-434d-add7-4afaafdaef89"))
        // conmon in the pod (the default) or in system.slice (conmon_cgroup).
        let conmon =
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poda5c1f8d5_1919_434d_add7_4afaafdaef89.slice/crio-conmon-\(crioID).scope"
        #expect(parse(conmon).runtime == "cri-o" && parse(conmon).id == crioID && parse(conmon).podUID != nil)
        let system = "/system.slice/crio-conmon-e0c85fe7644a858988d9687c2e0736a7d31922740d0f3e001c6b2e0aa7e5f528.scope"
        #expect(parse(system) == ContainerInfo(path: system, runtime: "cri-o", id: "e0c85fe7644a858988d9687c2e0736a7d31922740d0f3e001c6b2e0aa7e5f528"))
    }

    @Test func crioCgroupfsDriver() {
        let p = "/kubepods/besteffort/pod2ca4a155-3599-498d-bb9d-4446693fa3ea/crio-\(crioID)"
        #expect(parse(p) == ContainerInfo(path: p, runtime: "cri-o", id: crioID, podUID: "2ca4a155-3599-498d-bb9d-4446693fa3ea"))
    }

    @Test func podsOfANodeInsideADockerContainer() {
        // minikube with the docker driver: the node is a container, its pods below it.
        let p =
            "/docker/\(dockerID)/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2ca4a155_3599_498d_bb9d_4446693fa3ea.slice/crio-0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0.scope"
        #expect(
            parse(p)
                == ContainerInfo(
                    path: p, runtime: "cri-o", id: "0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0",
                    podUID: "2ca4a155-3599-498d-bb9d-4446693fa3ea"))
        // The node's own kubepods.slice: not the node container any more.
        #expect(parse("/docker/\(dockerID)/kubepods.slice").runtime == "kubepods")
        #expect(parse("/docker/\(dockerID)/kubepods.slice").id == nil)
    }

    // MARK: podman

    @Test func podman() {
        let p = "/machine.slice/libpod-\(podmanID).scope"
        #expect(parse(p) == ContainerInfo(path: p, runtime: "podman", id: podmanID))
        // cgroup v2: the container's processes are in a `container` sub-cgroup.
        let rootlessPod =
            "/user.slice/user-1000.slice/user@1000.service/user.slice/user-libpod_pod_8b3b5cdf1b0bce7d17ab4e1e34da6e7f12c5b2ad06b2c2ef3d7ad2f0d3f5a1c9.slice/libpod-\(podmanID).scope/container"
        #expect(parse(rootlessPod) == ContainerInfo(path: rootlessPod, runtime: "podman", id: podmanID))
        let conmon = "/machine.slice/libpod-conmon-\(podmanID).scope"
        #expect(parse(conmon) == ContainerInfo(path: conmon, runtime: "podman", id: podmanID))
        let cgroupfs = "/libpod_parent/libpod-\(podmanID)"
        #expect(parse(cgroupfs) == ContainerInfo(path: cgroupfs, runtime: "podman", id: podmanID))
    }

    // MARK: systemd

    @Test func systemdServicesScopesAndSlices() {
        #expect(parse("/system.slice/nginx.service") == ContainerInfo(path: "/system.slice/nginx.service", runtime: "systemd", id: "nginx.service"))
        #expect(
            parse("/user.slice/user-1000.slice/session-3.scope")
                == ContainerInfo(path: "/user.slice/user-1000.slice/session-3.scope", runtime: "systemd", id: "session-3.scope"))
        #expect(parse("/system.slice/system-getty.slice/getty@tty1.service").id == "getty@tty1.service")
        #expect(parse("/init.scope") == ContainerInfo(path: "/init.scope", runtime: "systemd", id: "init.scope"))
        #expect(parse("/user.slice/user-1000.slice") == ContainerInfo(path: "/user.slice/user-1000.slice", runtime: "systemd", id: "user-1000.slice"))
        #expect(parse("/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox.service").id == "app-firefox.service")
        // A delegated sub-cgroup (not a unit) is its unit's.
        #expect(parse("/system.slice/containerd.service/worker") == ContainerInfo(path: "/system.slice/containerd.service/worker", runtime: "systemd", id: "containerd.service"))
        // Runtimes' own daemons are plain services.
        #expect(parse("/system.slice/docker.service").runtime == "systemd")
        #expect(parse("/system.slice/docker.service").id == "docker.service")
        // A name with a runtime's prefix but no container id is just a unit.
        #expect(parse("/system.slice/docker-cleanup.scope") == ContainerInfo(path: "/system.slice/docker-cleanup.scope", runtime: "systemd", id: "docker-cleanup.scope"))
    }

    // MARK: cgroup v1 (hybrid hosts)

    @Test func procCgroupLinesOfV1Hierarchies() {
        #expect(parse("4:memory:/docker/\(dockerID)") == ContainerInfo(path: "/docker/\(dockerID)", runtime: "docker", id: dockerID))
        #expect(parse("1:name=systemd:/system.slice/nginx.service\n") == ContainerInfo(path: "/system.slice/nginx.service", runtime: "systemd", id: "nginx.service"))
        let line =
            "13:freezer:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poda5c1f8d5_1919_434d_add7_4afaafdaef89.slice/crio-\(crioID).scope"
        #expect(parse(line).runtime == "cri-o" && parse(line).podUID == "a5c1f8d5-1919-434d-add7-4afaafdaef89")
        #expect(parse("7:cpu,cpuacct:/kubepods/burstable/pod55c6c714-b240-4dec-9a45-57b61696ab6e/\(containerdID)").id == containerdID)
        // The v2 line of a hybrid or v2 host.
        #expect(parse("0::/system.slice/docker-\(dockerID).scope").id == dockerID)
        // This host's memory hierarchy: an unknown shape.
        #expect(parse("4:memory:/process_api/c46edef2cfc3d15ffa965931a21d9e2b") == ContainerInfo(path: "/process_api/c46edef2cfc3d15ffa965931a21d9e2b"))
    }

    // MARK: unknown shapes

    @Test func unknownShapesGiveOnlyThePath() {
        #expect(parse("/") == ContainerInfo(path: "/"))
        #expect(parse("") == ContainerInfo(path: "/"))
        #expect(parse("0::/") == ContainerInfo(path: "/"))
        #expect(parse("/mygroup/\(dockerID)") == ContainerInfo(path: "/mygroup/\(dockerID)"))
        #expect(parse("/docker") == ContainerInfo(path: "/docker"))
        #expect(parse("/docker/not-an-id") == ContainerInfo(path: "/docker/not-an-id"))
        // A bare id under a pod-like name outside kubepods is not a pod.
        #expect(parse("/x/pod55c6c714-b240-4dec-9a45-57b61696ab6e/\(containerdID)") == ContainerInfo(path: "/x/pod55c6c714-b240-4dec-9a45-57b61696ab6e/\(containerdID)"))
        // Too short to be an id.
        #expect(parse("/system.slice/docker-abc123.scope").runtime == "systemd")
    }

    @Test func pathsAreNormalized() {
        #expect(parse("/docker//\(dockerID)/").path == "/docker/\(dockerID)")
        // Another cgroup namespace's view shows `..`.
        #expect(parse("0::/../../system.slice/nginx.service").path == "/system.slice/nginx.service")
    }

    // MARK: pods, short names, the field

    @Test func podLogDirectories() {
        let d = ContainerInfo.podLogDirectory("kube-system_coredns-5d78c9869d-x7k2p_55c6c714-b240-4dec-9a45-57b61696ab6e")
        #expect(d?.namespace == "kube-system" && d?.name == "coredns-5d78c9869d-x7k2p" && d?.uid == "55c6c714-b240-4dec-9a45-57b61696ab6e")
        let staticPod = ContainerInfo.podLogDirectory("kube-system_etcd-node1_8daa50c3a64c9ff60bb9eab7b44b56fd")
        #expect(staticPod?.uid == "8daa50c3a64c9ff60bb9eab7b44b56fd")
        #expect(ContainerInfo.podLogDirectory("kube-system_coredns") == nil)
        #expect(ContainerInfo.podLogDirectory("a_b_c_55c6c714-b240-4dec-9a45-57b61696ab6e") == nil)
        #expect(ContainerInfo.podLogDirectory("_x_55c6c714-b240-4dec-9a45-57b61696ab6e") == nil)
        #expect(ContainerInfo.podLogDirectory("default_web_not-a-uid") == nil)
    }

    @Test func shortNames() {
        var k = parse("/kubepods/besteffort/pod2ca4a155-3599-498d-bb9d-4446693fa3ea/\(containerdID)")
        #expect(k.shortName == "2032491dcae3")
        k.podName = "web-7c9f8d6b5-abcde"
        #expect(k.shortName == "web-7c9f8d6b5-abcde")
        #expect(parse("/docker/\(dockerID)").shortName == "d6701ec289c5")
        #expect(parse("/system.slice/nginx.service").shortName == "nginx.service")
        #expect(parse("/kubepods/burstable/pod2ca4a155-3599-498d-bb9d-4446693fa3ea").shortName == "pod2ca4a155")
        #expect(parse("/process_api/c46e").shortName == "c46e")
        #expect(parse("/").shortName == "/")
    }

    @Test func fieldWritesTheObjectInJSONAndTheShortNameInText() throws {
        var info = parse("/kubepods/besteffort/pod2ca4a155-3599-498d-bb9d-4446693fa3ea/\(containerdID)")
        info.podNamespace = "default"
        info.podName = "web 1"
        var json: [UInt8] = []
        json.appendThroughCursor(maxBytes: (ContainerField.maxBytes + ContainerField.extraBytes(info))) { ContainerField.json(info, &$0) }
        #expect(
            String(decoding: json, as: UTF8.self)
                == #"{"path":"/kubepods/besteffort/pod2ca4a155-3599-498d-bb9d-4446693fa3ea/2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36","runtime":"containerd","id":"2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36","pod_uid":"2ca4a155-3599-498d-bb9d-4446693fa3ea","pod_namespace":"default","pod_name":"web 1"}"#
        )
        var text: [UInt8] = []
        text.appendThroughCursor(maxBytes: (ContainerField.maxBytes + ContainerField.extraBytes(info))) { ContainerField.text(info, &$0) }
        #expect(String(decoding: text, as: UTF8.self) == "web?1")

        // Read back, and unknowns as null.
        let back = try json.withUnsafeBufferPointer { b throws(RecordLineError) in
            var p = JSONReader(bytes: b)
            return try ContainerField.read(&p)
        }
        #expect(back == info)
        let bare = ContainerInfo(path: "/")
        var j2: [UInt8] = []
        j2.appendThroughCursor(maxBytes: (ContainerField.maxBytes + ContainerField.extraBytes(bare))) { ContainerField.json(bare, &$0) }
        #expect(
            String(decoding: j2, as: UTF8.self)
                == #"{"path":"/","runtime":null,"id":null,"pod_uid":null,"pod_namespace":null,"pod_name":null}"#)
    }

    @Test func schemaRowsNameEveryField() {
        var t = SchemaTable()
        ContainerField.describe(into: &t)
        #expect(t.rows.map(\.name) == ["path", "runtime", "id", "pod_uid", "pod_namespace", "pod_name"])
        #expect(t.rows.map(\.type) == ["string", "string | null", "string | null", "string | null", "string | null", "string | null"])
    }
}
