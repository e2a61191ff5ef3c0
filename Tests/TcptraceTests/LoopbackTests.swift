import Foundation
import Glibc
import Testing

/// The tests run in parallel in one process, and a program one suite starts (tmux, a tracer,
/// python) inherits every descriptor the process holds without close-on-exec at that moment.
/// An accepted socket inherited so stayed open past the test's close(): AggregationTests then
/// never saw its lingering server sockets close (18 connections instead of 20, 2 lingerer records
/// instead of 4) whenever TopTests started tmux meanwhile.
@Suite struct LoopbackTests {
    @Test func anAcceptedSocketClosesWhileAProgramStartedMeanwhileRuns() throws {
        let (l, port) = try Loopback.bound(.v4)
        defer { close(l) }
        try Loopback.listen(l)
        let c = try Loopback.connect(.v4, port: port)
        defer { close(c) }
        let s = try Loopback.accept(l)
        #expect(fcntl(s, F_GETFD) & FD_CLOEXEC != 0)
        // Started as tmux was: posix_spawn, no file actions (everything not close-on-exec goes along).
        var pid: pid_t = 0
        let words: [String] = ["sleep", "5"]
        let argv = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        try #require(posix_spawn(&pid, "/bin/sleep", nil, nil, argv, environ) == 0)
        defer {
            kill(pid, SIGKILL)
            waitpid(pid, nil, 0)
        }
        close(s)
        // The peer sees the close at once: end of file.
        var ready = pollfd(fd: c, events: Int16(POLLIN), revents: 0)
        #expect(poll(&ready, 1, 2000) == 1)
        var byte: UInt8 = 0
        #expect(recv(c, &byte, 1, Int32(MSG_DONTWAIT)) == 0, "end of file: the accepted socket closed")
    }
}
