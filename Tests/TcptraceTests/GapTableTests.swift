import Testing
@testable import TcptraceCore

/// Gaps in the connection table: a transition the kernel marked (it came after skipped ones)
/// marks its connection's record; entries idle in a state the kernel's timers end bring a
/// reconciliation dump (their end may have been skipped uncounted).
@Suite struct GapTableTests {
    @Test func aMarkedTransitionMarksItsConnectionOnly() throws {
        var table = ConnectionTable()
        var c = Script(cookie: 1, lport: 40000, rport: 80)
        var s = Script(cookie: 2, lport: 80, rport: 40000)
        _ = table.apply(c.go(.close, .synSent, at: 0))
        _ = table.apply(s.go(.listen, .synRecv, at: 0.2))
        _ = table.apply(c.go(.synSent, .established, at: 0.5))
        _ = table.apply(s.go(.synRecv, .established, at: 0.5))
        // ESTABLISHED -> FIN_WAIT1 skipped by the kernel: the next one is marked.
        var after = c.go(.finWait1, .finWait2, at: 100.25)
        after.afterGap = true
        _ = table.apply(after)
        let client = try #require(table.apply(c.go(.finWait2, .close, at: 150)).connection)
        _ = table.apply(s.go(.established, .closeWait, at: 100))
        _ = table.apply(s.go(.closeWait, .lastAck, at: 149))
        let server = try #require(table.apply(s.go(.lastAck, .close, at: 150)).connection)
        #expect(client.gap && !server.gap)
        #expect(client.timeline.map(\.state) == [.synSent, .finWait1, .finWait2], "ESTABLISHED, which the skipped transition left, is missing")
        var line: [UInt8] = []
        JSONLines.append(client, to: &line)
        #expect(String(decoding: line, as: UTF8.self).hasSuffix(#""partial":false,"gap":true,"connect_error":null}"# + "\n"))
    }

    @Test func idleTransientEntries() {
        var table = ConnectionTable()
        var c = Script(cookie: 1, lport: 40000, rport: 80)
        var e = Script(cookie: 2, lport: 40001, rport: 80)
        _ = table.apply(c.go(.close, .synSent, at: 0))
        _ = table.apply(c.go(.synSent, .established, at: 1))
        _ = table.apply(c.go(.established, .finWait1, at: 2))
        _ = table.apply(e.go(.close, .synSent, at: 0))
        _ = table.apply(e.go(.synSent, .established, at: 1))
        #expect(table.hasIdleTransient(idleBefore: Script.at(3)), "FIN_WAIT1 since 2 ms")
        #expect(!table.hasIdleTransient(idleBefore: Script.at(2)), "not idle long enough")
        _ = table.apply(c.go(.finWait1, .finWait2, at: 4))
        #expect(!table.hasIdleTransient(idleBefore: Script.at(10)), "FIN_WAIT2 and ESTABLISHED can last: not transient")
        #expect([TCPState.synSent, .synRecv, .finWait1, .closing, .lastAck].allSatisfy(ConnectionTable.isTransient))
        #expect(![TCPState.established, .finWait2, .closeWait, .listen, .close].contains(where: ConnectionTable.isTransient))
    }
}
