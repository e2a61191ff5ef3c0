import Testing
import TcptraceCore

/// The live run's periodic work on a fake monotonic clock (plain nanoseconds).
@Suite struct PeriodicScheduleTests {
    static let s: UInt64 = 1_000_000_000
    static let ms: UInt64 = 1_000_000
    /// An arbitrary monotonic start, far from zero like CLOCK_MONOTONIC on a running host.
    static let start: UInt64 = 7_000 * s

    /// Steps a fake clock by `step` from `start` to `start + until`, collecting what runs when
    /// (time relative to the start).
    func run(_ intervals: PeriodicSchedule.Intervals, until: UInt64, step: UInt64 = 100 * ms) -> [(UInt64, PeriodicSchedule.Work)] {
        var schedule = PeriodicSchedule(intervals, start: Self.start)
        var out: [(UInt64, PeriodicSchedule.Work)] = []
        var now = Self.start
        while now <= Self.start + until {
            for w in schedule.takeDue(at: now) { out.append((now - Self.start, w)) }
            now += step
        }
        return out
    }

    func times(_ runs: [(UInt64, PeriodicSchedule.Work)], _ work: PeriodicSchedule.Work) -> [UInt64] {
        runs.filter { $0.1 == work }.map(\.0)
    }

    @Test func defaultIntervals() {
        let i = PeriodicSchedule.Intervals()
        #expect(i.lossReport == 1 * Self.s && i.lingererCheck == 1 * Self.s)
        #expect(i.overflowCheck == 10 * Self.s && i.reconcile == 5 * Self.s)
        #expect(i.census == nil, "the census interval comes from the options")
    }

    @Test func oneSecondChecksRunAtOnceSlowerWorkAfterOneInterval() {
        var i = PeriodicSchedule.Intervals()
        i.census = 60 * Self.s
        var schedule = PeriodicSchedule(i, start: Self.start)
        // The census too: the sockets as the run found them.
        #expect(schedule.takeDue(at: Self.start) == [.lossReport, .lingererCheck, .census])
        #expect(schedule.nextDue(.overflowCheck) == Self.start + 10 * Self.s)
        #expect(schedule.nextDue(.reconcile) == Self.start + 5 * Self.s)
        #expect(schedule.nextDue(.census) == Self.start + 60 * Self.s)
        #expect(schedule.takeDue(at: Self.start + 999 * Self.ms) == [])
        #expect(schedule.takeDue(at: Self.start + 1 * Self.s) == [.lossReport, .lingererCheck])
    }

    @Test func eachWorkOnItsOwnInterval() {
        var i = PeriodicSchedule.Intervals()
        i.census = 3 * Self.s
        let runs = run(i, until: 20 * Self.s)
        #expect(times(runs, .lossReport) == (0...20).map { UInt64($0) * Self.s })
        #expect(times(runs, .lingererCheck) == (0...20).map { UInt64($0) * Self.s })
        #expect(times(runs, .overflowCheck) == [10 * Self.s, 20 * Self.s])
        #expect(times(runs, .reconcile) == [5 * Self.s, 10 * Self.s, 15 * Self.s, 20 * Self.s])
        #expect(times(runs, .census) == [0, 3, 6, 9, 12, 15, 18].map { $0 * Self.s })
    }

    @Test func workDueTogetherRunsInDeclarationOrder() {
        var i = PeriodicSchedule.Intervals()
        i.census = 10 * Self.s
        let at10 = run(i, until: 10 * Self.s).filter { $0.0 == 10 * Self.s }.map(\.1)
        #expect(at10 == [.lossReport, .lingererCheck, .overflowCheck, .reconcile, .census])
    }

    @Test func nilOrZeroIntervalNeverRuns() {
        var i = PeriodicSchedule.Intervals()
        i.lossReport = nil
        i.census = 0
        let runs = run(i, until: 30 * Self.s)
        #expect(times(runs, .lossReport).isEmpty)
        #expect(times(runs, .census).isEmpty)
        #expect(times(runs, .lingererCheck).count == 31)
        var schedule = PeriodicSchedule(i, start: Self.start)
        #expect(schedule.nextDue(.lossReport) == nil && schedule.nextDue(.census) == nil)
        #expect(schedule.takeDue(at: .max) == [.lingererCheck, .overflowCheck, .reconcile])
    }

    @Test func lateRunIsNotFollowedByCatchUpRuns() {
        var schedule = PeriodicSchedule(PeriodicSchedule.Intervals(), start: Self.start)
        _ = schedule.takeDue(at: Self.start)
        // The process was stopped for 12 s: each work runs once, then on its interval from then.
        let late = Self.start + 12 * Self.s
        #expect(schedule.takeDue(at: late) == [.lossReport, .lingererCheck, .overflowCheck, .reconcile])
        #expect(schedule.takeDue(at: late + 1) == [])
        #expect(schedule.nextDue(.lingererCheck) == late + 1 * Self.s)
        #expect(schedule.nextDue(.reconcile) == late + 5 * Self.s)
        #expect(schedule.nextDue(.overflowCheck) == late + 10 * Self.s)
    }

    @Test func coarsePollsRunWorkAtMostOncePerPoll() {
        // Polls 2.5 s apart: the 1 s checks run once per poll, never twice for the missed seconds.
        let runs = run(PeriodicSchedule.Intervals(), until: 10 * Self.s, step: 2_500 * Self.ms)
        #expect(times(runs, .lingererCheck) == [0, 2_500, 5_000, 7_500, 10_000].map { $0 * Self.ms })
        #expect(times(runs, .reconcile) == [5_000, 10_000].map { $0 * Self.ms })
    }

    @Test func intervalBeyondTheClockMeansNeverOrOnlyAtTheStart() {
        var i = PeriodicSchedule.Intervals()
        i.overflowCheck = .max - 1
        i.census = .max - 1
        var schedule = PeriodicSchedule(i, start: Self.start)
        #expect(schedule.nextDue(.overflowCheck) == nil)
        #expect(schedule.takeDue(at: Self.start).contains(.census), "work that runs at the start still does")
        #expect(schedule.nextDue(.census) == nil)
        let hourLater = schedule.takeDue(at: Self.start + 3_600 * Self.s)
        #expect(!hourLater.contains(.census) && !hourLater.contains(.overflowCheck))
    }
}
