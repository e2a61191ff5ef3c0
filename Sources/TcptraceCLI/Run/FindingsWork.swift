import TcptraceKernel
import TcptraceHost
import TcptraceCore

/// A live run's findings: the evidence it gathers as records arise, and the analyzers run over
/// it at each evaluation (every `interval`, and at the end), with the host's counters and
/// sysctls read then. What cannot be read is said once on standard error, and the rest goes on.
final class FindingsWork {
    var evidence = DiagnosisEvidence()
    var tracker = FindingTracker()
    let thresholds: FindingThresholds
    /// Say what could not be read on standard error (not in `top`, whose screen owns the terminal).
    let saysMissing: Bool

    init(thresholds: FindingThresholds, saysMissing: Bool) {
        self.thresholds = thresholds
        self.saysMissing = saysMissing
    }

    func observe(connection c: ConnectionRecord) { evidence.observe(connection: c, failedConnect: c.connectError?.rawValue) }

    func observe(lingerer l: LingererRecord) {
        evidence.observe(lingerer: l, container: l.identity.container.flatMap { ContainerRegistry.shared.info($0)?.shortName })
    }

    func observe(census: [Census]) { evidence.observe(census: census) }

    /// Reads the host's side (sysctls, each namespace's /proc/net/netstat), runs the analyzers,
    /// and returns what opened, changed or closed since the last evaluation.
    func evaluate(now: WallTime, namespaces: [NetworkNamespace], lost: LostEvents, events: UInt64, timeWaitOverflow: UInt64?)
        -> [FindingRecord]
    {
        evidence.now = max(evidence.now, now)
        if evidence.start == nil { evidence.start = now }
        evidence.lost = lost
        evidence.events = events
        evidence.timeWaitOverflow = timeWaitOverflow
        evidence.sysctls = Sysctl.readTCP().values
        let places: [NetworkNamespace?] = namespaces.isEmpty ? [nil] : namespaces
        for ns in places {
            switch NetstatReader.read(in: ns) {
            case .success(let c):
                evidence.observe(
                    listenOverflows: c.listenOverflows, drops: c.listenDrops, netns: ns?.inode, name: ns?.isOwn == true ? "host" : ns?.name,
                    at: now)
            case .failure(let unreadable):
                let why = unreadable.description
                let what = ns.map { "/proc/net/netstat of network namespace \($0.inode)" } ?? "/proc/net/netstat"
                if evidence.noteMissing(what, why: why, at: now) && saysMissing {
                    printError("\(why): listen-queue findings for that namespace left out; the others go on")
                }
            }
        }
        return tracker.update(Diagnosis.findings(evidence, thresholds: thresholds), at: now)
    }
}
