import Synchronization

/// Which container (or systemd unit, or Kubernetes pod) a cgroup belongs to, read from the
/// cgroup's path alone. Records with a socket carry one as `container` where the socket's cgroup
/// v2 id was resolved to a path (see `CgroupResolver` in the host module).
///
/// Container runtimes and the kubelet name cgroups in a handful of fixed shapes; `parse` knows
/// them (see there). A path of no known shape gives only `path`.
public struct ContainerInfo: Hashable, Sendable, FieldGroup {
    /// The cgroup's path relative to the cgroup v2 mount, e.g. `/system.slice/nginx.service`.
    public var path: String
    /// `docker`, `containerd`, `cri-o`, `podman`, `systemd`, or `kubepods` when only the pod
    /// (or only the kubepods hierarchy) is known; nil for a path of no known shape.
    public var runtime: String?
    /// The full container id (64 hex digits), or for `systemd` the unit name (`nginx.service`).
    public var id: String?
    /// The Kubernetes pod's uid, with dashes (`0d3e3a5b-7b1f-4b5e-9d0c-6b1f0e7b6c2a`; static
    /// pods: 32 hex digits).
    public var podUID: String?
    /// From the kubelet's `/var/log/pods/<namespace>_<name>_<uid>/`, when that exists.
    public var podNamespace: String?
    public var podName: String?

    public init(
        path: String, runtime: String? = nil, id: String? = nil, podUID: String? = nil, podNamespace: String? = nil,
        podName: String? = nil
    ) {
        self.path = path
        self.runtime = runtime
        self.id = id
        self.podUID = podUID
        self.podNamespace = podNamespace
        self.podName = podName
    }

    public init() { self.init(path: "") }

    @inlinable
    public static func fields<V: FieldVisitor>(_ r: inout ContainerInfo, _ v: inout V) {
        v.field(
            "path", &r.path, Text.self, text: .hidden,
            "the cgroup v2 path, relative to the cgroup2 mount (e.g. `/system.slice/nginx.service`)")
        v.field(
            "runtime", &r.runtime, Nullable<Text>.self, text: .hidden,
            "`\"docker\"`, `\"containerd\"`, `\"cri-o\"`, `\"podman\"`, `\"systemd\"` (a service, scope or slice), or `\"kubepods\"` when only the Kubernetes pod is known; `null` when the path has no known shape")
        v.field(
            "id", &r.id, Nullable<Text>.self, text: .hidden,
            "the full container id, or for `systemd` the unit name (e.g. `nginx.service`)")
        v.field("pod_uid", &r.podUID, Nullable<Text>.self, text: .hidden, "the Kubernetes pod's uid")
        v.field(
            "pod_namespace", &r.podNamespace, Nullable<Text>.self, text: .hidden,
            "the pod's namespace, from the kubelet's `/var/log/pods/<namespace>_<name>_<uid>` directory; `null` when unknown")
        v.field("pod_name", &r.podName, Nullable<Text>.self, text: .hidden, "the pod's name, from the same directory")
    }

    /// A short name for a text column: the pod name if known, else the container id's first 12
    /// characters (as `docker ps` shows it), else the systemd unit name, else `pod` and the
    /// pod uid's first 8 characters, else the path's last component (`/` for the root).
    public var shortName: String {
        if let podName, !podName.isEmpty { return podName }
        if let id, !id.isEmpty { return runtime == "systemd" ? id : String(id.prefix(12)) }
        if let podUID, !podUID.isEmpty { return "pod" + podUID.prefix(8) }
        return path.split(separator: "/").last.map(String.init) ?? "/"
    }
}

// MARK: - Parsing cgroup paths

extension ContainerInfo {
    /// What a cgroup path says about its container, from its shape alone:
    ///
    /// - docker, cgroupfs driver: `/docker/<64 hex>`; systemd driver (and rootless, under
    ///   `user@UID.service`): `…/docker-<64 hex>.scope`
    /// - containerd (CRI), systemd driver: `…/cri-containerd-<64 hex>.scope`; cgroupfs driver:
    ///   a bare `<64 hex>` directly under a pod (`/kubepods/besteffort/pod<uid>/<64 hex>`).
    ///   cri-dockerd with the cgroupfs driver makes the same shape: it reads as containerd.
    /// - cri-o: `…/crio-<64 hex>.scope` (systemd) or `…/crio-<64 hex>` (cgroupfs); its monitor,
    ///   `crio-conmon-<64 hex>.scope`, reads as that container
    /// - podman: `…/libpod-<64 hex>.scope` (also its `…/container` sub-cgroup), cgroupfs
    ///   `/libpod_parent/libpod-<64 hex>`, monitor `libpod-conmon-<64 hex>.scope`
    /// - Kubernetes pods, systemd driver: `kubepods[-<qos>]-pod<uid with _>.slice` (any prefix, e.g.
    ///   kind's `kubelet-kubepods-…`), uid given back with `-`; cgroupfs driver:
    ///   `/kubepods[/<qos>]/pod<uid>`. QoS `burstable` and `besteffort` have their own level;
    ///   guaranteed pods sit directly under kubepods. A pod's cgroup without a container below
    ///   reads as runtime `kubepods`.
    /// - systemd: the deepest unit (`.service`, `.scope`, `.slice`, `.socket`, `.mount`,
    ///   `.swap`): `/system.slice/nginx.service`, `/user.slice/user-1000.slice/session-3.scope`,
    ///   `/system.slice/system-getty.slice/getty@tty1.service`; a delegated sub-cgroup
    ///   (`/system.slice/foo.service/worker`) reads as its unit.
    /// - cgroup v1 (hybrid hosts): the same shapes under any v1 hierarchy; a whole
    ///   `/proc/PID/cgroup` line (`4:memory:/docker/<id>`, `0::/…`) is accepted too.
    ///
    /// The deepest match wins: a container inside a container (docker in docker, a kind or
    /// minikube node's pods under `/docker/<node id>/…`) reads as the inner one, and units
    /// inside a container (`docker-<id>.scope/init.scope`) as the container.
    public static func parse(cgroupPath: String) -> ContainerInfo {
        var text = Substring(cgroupPath)
        while let last = text.last, last == "\n" || last == "\r" || last == " " { text.removeLast() }
        // A /proc/PID/cgroup line: `hierarchy-ID:controller-list:path`.
        if !text.hasPrefix("/"), let colon = text.firstIndex(of: ":"), !text[..<colon].isEmpty,
            text[..<colon].allSatisfy(\.isASCIIDigit)
        {
            let rest = text[text.index(after: colon)...]
            if let second = rest.firstIndex(of: ":") { text = rest[rest.index(after: second)...] }
        }
        // `..` appears when the reader is in another cgroup namespace; it names nothing here.
        let components = text.split(separator: "/").filter { $0 != "." && $0 != ".." }
        var info = ContainerInfo(path: "/" + components.joined(separator: "/"))

        var container: (runtime: String, id: String)?
        var podUID: String?
        var kube = false
        var unit: Substring?
        for (i, c) in components.enumerated() {
            let parent = i > 0 ? components[i - 1] : nil
            if let found = containerShape(c, parent: parent, underPod: podUID != nil && parent.map(isCgroupfsPod) == true) {
                container = found
            } else if let uid = podShape(c, kubeAbove: kube) {
                // A pod below a container: the container was the outer layer (a node).
                podUID = uid
                container = nil
                kube = true
            } else if isKubepodsRoot(c) {
                // The kubepods hierarchy starts (again): whatever was above is an outer layer.
                kube = true
                podUID = nil
                container = nil
            } else if container == nil && !kube && isSystemdUnit(c) {
                unit = c
            }
        }

        if let container {
            info.runtime = container.runtime
            info.id = container.id
            info.podUID = podUID
        } else if kube {
            info.runtime = "kubepods"
            info.podUID = podUID
        } else if let unit {
            info.runtime = "systemd"
            info.id = String(unit)
        }
        return info
    }

    /// `<namespace>_<pod name>_<pod uid>`, the kubelet's directory under `/var/log/pods`. Neither
    /// namespaces (DNS labels) nor pod names (DNS subdomains) nor uids contain `_`.
    public static func podLogDirectory(_ name: String) -> (namespace: String, name: String, uid: String)? {
        let parts = name.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, isPodUID(parts[2], separator: "-") else { return nil }
        return (String(parts[0]), String(parts[1]), String(parts[2]))
    }

    // MARK: Shapes

    /// Runtime prefixes of a container's cgroup name, most specific first (`crio-conmon-`
    /// before `crio-`). `scopeOnly`: never seen without `.scope`.
    private static let prefixes: [(prefix: String, runtime: String, scopeOnly: Bool)] = [
        ("docker-", "docker", true),
        ("cri-containerd-", "containerd", true),
        ("crio-conmon-", "cri-o", false),
        ("crio-", "cri-o", false),
        ("libpod-conmon-", "podman", false),
        ("libpod-", "podman", false),
    ]

    private static func containerShape(_ c: Substring, parent: Substring?, underPod: Bool) -> (runtime: String, id: String)? {
        if isContainerID(c) {
            if parent == "docker" { return ("docker", String(c)) }
            if underPod { return ("containerd", String(c)) }
            return nil
        }
        let scope = c.hasSuffix(".scope")
        let name = scope ? c.dropLast(6) : c
        for p in prefixes where name.hasPrefix(p.prefix) && (scope || !p.scopeOnly) {
            let id = name.dropFirst(p.prefix.utf8.count)
            if isContainerID(id) { return (p.runtime, String(id)) }
        }
        return nil
    }

    /// `kubepods`, `kubepods.slice`, or any `…kubepods[-<qos>].slice` (kind's
    /// `kubelet-kubepods.slice`).
    private static func isKubepodsRoot(_ c: Substring) -> Bool {
        if c == "kubepods" { return true }
        guard c.hasSuffix(".slice") else { return false }
        let base = c.dropLast(6)
        return base.hasSuffix("kubepods") || base.hasSuffix("kubepods-burstable") || base.hasSuffix("kubepods-besteffort")
    }

    /// The uid of a pod cgroup: `…kubepods[-<qos>]-pod<uid with _>.slice` (systemd driver),
    /// or `pod<uid>` under `kubepods` (cgroupfs driver).
    private static func podShape(_ c: Substring, kubeAbove: Bool) -> String? {
        if c.hasSuffix(".slice") {
            let base = c.dropLast(6)
            // `<owner>-pod<uid>`: the uid is 36 characters (or 32, static pods) at the end.
            for length in [36, 32] where base.utf8.count > length + 4 {
                let uid = Substring(base.utf8.suffix(length))
                let owner = base.dropLast(length)
                guard owner.hasSuffix("-pod"), isPodUID(uid, separator: "_") else { continue }
                let qos = owner.dropLast(4)
                guard qos.hasSuffix("kubepods") || qos.hasSuffix("kubepods-burstable") || qos.hasSuffix("kubepods-besteffort")
                else { return nil }
                return String(uid.map { $0 == "_" ? "-" : $0 })
            }
            return nil
        }
        guard kubeAbove, isCgroupfsPod(c) else { return nil }
        return String(c.dropFirst(3))
    }

    private static func isCgroupfsPod(_ c: Substring) -> Bool {
        c.hasPrefix("pod") && isPodUID(c.dropFirst(3), separator: "-")
    }

    /// A uid (36 characters, hex in 8-4-4-4-12 groups) or a static pod's config hash (32 hex).
    private static func isPodUID(_ s: Substring, separator: Character) -> Bool {
        let u = s.utf8
        if u.count == 32 { return u.allSatisfy(isHexDigit) }
        guard u.count == 36 else { return false }
        for (i, b) in u.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard b == separator.asciiValue! else { return false }
            } else if !isHexDigit(b) {
                return false
            }
        }
        return true
    }

    /// Docker, containerd, cri-o and podman ids: 64 lowercase hex digits.
    private static func isContainerID(_ s: Substring) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    private static func isHexDigit(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46)
    }

    private static let unitSuffixes = [".service", ".scope", ".slice", ".socket", ".mount", ".swap"]

    private static func isSystemdUnit(_ c: Substring) -> Bool {
        for s in unitSuffixes where c.hasSuffix(s) && c.utf8.count > s.utf8.count { return true }
        return false
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { asciiValue.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
}

// MARK: - The `container` field

/// A container as a record field: the object in JSON, its `shortName` in text.
public enum ContainerField: FieldFormat {
    public typealias Value = ContainerInfo
    public static var jsonType: String { "object" }
    @inlinable public static var maxBytes: Int { Object<ContainerInfo>.maxBytes }
    @inlinable
    public static func extraBytes(_ value: ContainerInfo) -> Int { Object<ContainerInfo>.extraBytes(value) }
    @inlinable
    public static func json(_ value: ContainerInfo, _ c: inout ByteCursor) { Object<ContainerInfo>.json(value, &c) }
    /// Control characters and spaces (the column separator) are shown as `?`. Never longer
    /// than the JSON bound: the short name is at most a field's value plus `pod`.
    public static func text(_ value: ContainerInfo, _ c: inout ByteCursor) {
        var name = value.shortName
        name.withUTF8 { u in
            for b in u { c.byte(b <= 0x20 || b == 0x7f ? UInt8(ascii: "?") : b) }
        }
    }
    public static func read(_ p: inout JSONReader) throws(RecordLineError) -> ContainerInfo? {
        try Object<ContainerInfo>.read(&p)
    }
}

extension ContainerField: NestedSchema {
    static var step: String { "." }
    static func describe(into t: inout SchemaTable) { Object<ContainerInfo>.describe(into: &t) }
}
