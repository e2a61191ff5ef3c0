import Glibc
import Testing
import TcptraceHost

/// The census thread's handoff: one job at a time, its output taken once, on the caller's thread.
@Suite struct BackgroundJobTests {
    @Test func outputIsTakenOnce() {
        let job = BackgroundJob<Int>()
        #expect(job.take() == nil, "nothing started")
        #expect(job.start { 42 })
        job.wait()
        #expect(job.take() == 42)
        #expect(job.take() == nil, "taken once")
    }

    @Test func oneJobAtATime() throws {
        let job = BackgroundJob<Int>()
        // The first job runs until the test writes a byte into the pipe.
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        defer { close(readEnd); close(writeEnd) }
        #expect(job.start {
            var byte: UInt8 = 0
            return read(readEnd, &byte, 1) == 1 ? Int(byte) : -1
        })
        #expect(!job.start { 0 }, "refused while the first runs")
        var byte: UInt8 = 7
        #expect(write(writeEnd, &byte, 1) == 1)
        job.wait()
        #expect(!job.start { 0 }, "refused until the output is taken")
        #expect(job.take() == 7)
        #expect(job.start { 8 })
        job.wait()
        #expect(job.take() == 8)
    }
}
