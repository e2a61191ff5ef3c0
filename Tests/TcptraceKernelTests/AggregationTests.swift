import Foundation
import Glibc
import Testing
import TcptraceCore
import TcptraceHost
import TcptraceKernel

/// Aggregated mode (`--events` without transitions): the kernel sends a socket's transitions as
/// one batch at CLOSE, CLOSE_WAIT or LISTEN. Two tracers watch the same traffic at the same
/// time, one per mode; their connection and lingerer records and their summaries must agree.
@Suite(.serialized, .enabled(if: KernelGate.enabled, "needs root and a kernel with BTF"))
struct AggregationTests {
    static let port: UInt16 = 31510
    static let refusedPort: UInt16 = 31511

    /// Every way a connection ends that the table tells apart, on both families: client closes
    /// first, server closes first, reset, refused connect, and a CLOSE_WAIT lingerer held past
    /// the threshold. Returns after every socket is closed.
    func traffic(lingerSeconds: Double) throws {
        var lingering: [Int32] = []
        for family in [Loopback.Family.v4, .v6] {
            let l = try Loopback.listening(family, port: Self.port)
            defer { close(l) }
            // A lingerer (the peer closes first, the server does not), a short CLOSE_WAIT, the
            // server closing first, a reset and a refused connect.
            lingering.append(try Loopback.everyKind(family, listener: l, port: Self.port, refusedPort: Self.refusedPort))
        }
        usleep(UInt32(lingerSeconds * 1_000_000))
        for fd in lingering { close(fd) }
    }

    /// Connection and lingerer records keyed by (type, cookie, event).
    func records(_ lines: [[String: Any]]) -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for r in lines {
            guard let type = r["type"] as? String, type == "connection" || type == "lingerer" else { continue }
            let key = "\(type) \(r["cookie"] ?? "") \(r["event"] ?? "")"
            #expect(out[key] == nil, "one record per key: \(key)")
            out[key] = r
        }
        return out
    }

    /// A record with the values each process measures itself replaced by whether they are
    /// known: each kernel program reads its own clock for the same transition (microseconds
    /// apart), each process converts to wall time itself, and `lingering` records are written
    /// by each process's own periodic check.
    func masked(_ r: [String: Any]) -> NSDictionary {
        var m = r
        m["time"] = nil
        for key in ["connect_ms", "lifetime_ms", "age_s"] where m[key] != nil {
            m[key] = m[key] is NSNull ? "null" : "known"
        }
        if let timeline = r["timeline"] as? [[String: Any]] {
            m["timeline"] = timeline.map { span -> String in "\(span["state"] ?? "?") \(span["ms"] is NSNull ? "null" : "known")" }
        }
        return m as NSDictionary
    }

    @Test func aggregatedRecordsEqualTheTransitionPath() throws {
        try KernelGate.check()
        let full = tempPath("full.jsonl"), aggregated = tempPath("aggregated.jsonl")
        defer {
            unlink(full)
            unlink(aggregated)
        }
        let common = [
            "--format", "json", "--port", "\(Self.port),\(Self.refusedPort)", "--close-wait-threshold", "1s",
            "--census-interval", "off",
        ]
        let (a, _) = try Binary.start(common + ["--output", full, "--events", "transitions,connections,lingerers"])
        let (b, _) = try Binary.start(common + ["--output", aggregated, "--events", "connections,lingerers"])
        defer {
            if a.isRunning { a.terminate() }
            if b.isRunning { b.terminate() }
        }
        try traffic(lingerSeconds: 2.5)
        usleep(300_000)
        for p in [a, b] { kill(p.processIdentifier, SIGINT) }
        a.waitUntilExit()
        b.waitUntilExit()
        #expect(a.terminationStatus == 0 && b.terminationStatus == 0)

        let fullLines = jsonLines(try String(contentsOfFile: full, encoding: .utf8))
        let aggregatedLines = jsonLines(try String(contentsOfFile: aggregated, encoding: .utf8))
        #expect(!aggregatedLines.contains { $0["type"] as? String == "transition" })
        let fromTransitions = records(fullLines), fromBatches = records(aggregatedLines)
        // Per family: 8 connections (2 lingerers' clients and servers count in it) and the
        // listener; the refused connect is a connection too. 2 × (4 × 2 + 1 + 1) = 20.
        let connections = fromTransitions.keys.filter { $0.hasPrefix("connection ") }
        #expect(connections.count == 20, "\(connections.sorted())")
        let lingerers = fromTransitions.keys.filter { $0.hasPrefix("lingerer ") }
        #expect(lingerers.count == 4, "two lingerers, each lingering then closed: \(lingerers.sorted())")
        #expect(Set(fromTransitions.keys) == Set(fromBatches.keys))
        for (key, r) in fromTransitions {
            guard let other = fromBatches[key] else { continue }
            #expect(masked(r) == masked(other), "\(key): \(r) vs \(other)")
        }
        // Both families, both roles, every way of closing.
        let conns = fromBatches.values.filter { $0["type"] as? String == "connection" }
        #expect(Set(conns.compactMap { $0["family"] as? String }) == ["ipv4", "ipv6"])
        #expect(Set(conns.compactMap { $0["role"] as? String }) == ["client", "server", "listener"])
        #expect(Set(conns.compactMap { $0["closed_by"] as? String }) == ["local", "remote", "reset"])

        // The summaries agree on everything built from transitions.
        let s1 = try #require(fullLines.last), s2 = try #require(aggregatedLines.last)
        #expect(s1["type"] as? String == "summary" && s2["type"] as? String == "summary")
        for key in ["events", "transitions", "lost", "connections", "lingerers", "time_wait"] {
            var x = s1[key], y = s2[key]
            if key == "time_wait" {
                // per_s divides by each run's own duration; endpoints with equal counts come in
                // each process's hash order.
                func endpoints(_ v: Any?) -> [String: Any]? {
                    (v as? [String: Any]).map { tw in
                        let top = (tw["top"] as? [[String: Any]] ?? []).map { "\($0["raddr"] ?? "") \($0["rport"] ?? "") \($0["count"] ?? "")" }
                        return ["total": tw["total"] ?? 0, "top": top.sorted()]
                    }
                }
                x = endpoints(x)
                y = endpoints(y)
            }
            #expect((x as? NSObject) == (y as? NSObject), "summary \(key): \(x ?? "nil") vs \(y ?? "nil")")
        }
        let d1 = s1["durations_ms"] as? [String: [String: Any]] ?? [:], d2 = s2["durations_ms"] as? [String: [String: Any]] ?? [:]
        #expect(d1.mapValues { $0["count"] as? Int } == d2.mapValues { $0["count"] as? Int }, "durations measured per state")
        #expect(
            (s1["connect_latency_ms"] as? [String: Any])?["count"] as? Int == (s2["connect_latency_ms"] as? [String: Any])?["count"] as? Int)

        // Ring records: one per transition in the full mode; in aggregated mode one per
        // connection, plus one per entry into CLOSE_WAIT and one per listener's LISTEN.
        let k1 = try #require(s1["kernel"] as? [String: Int]), k2 = try #require(s2["kernel"] as? [String: Int])
        let transitions = try #require(s2["transitions"] as? [String: Int])
        let closeWaits = transitions.filter { $0.key.hasSuffix("->CLOSE_WAIT") }.values.reduce(0, +)
        let listens = transitions.filter { $0.key.hasSuffix("->LISTEN") }.values.reduce(0, +)
        let events = try #require(s2["events"] as? Int)
        #expect(k1["ring_records"] == s1["events"] as? Int)
        #expect(closeWaits == 6 && listens == 2, "\(transitions)")
        #expect(k2["ring_records"] == 20 + closeWaits + listens, "aggregated: \(k2), \(events) transitions")
    }
}
