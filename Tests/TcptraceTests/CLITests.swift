import ArgumentParser
import Testing
import TcptraceCore
@testable import TcptraceCLI

/// Every flag error is a one-line message and exit code 64 (EX_USAGE), before anything loads.
@Suite struct CLITests {
    @Test func tracingIsTheDefaultSubcommand() throws {
        #expect(try TcptraceCommand.parseAsRoot(["--port", "80"]) is TraceCommand)
        #expect(try TcptraceCommand.parseAsRoot(["trace", "--port", "80"]) is TraceCommand)
    }

    @Test func defaults() throws {
        let c = try TcptraceCommand.parseAsRoot([]) as! TraceCommand
        #expect(c.format == .text)
        #expect(c.selection.filter.isEmpty)
        #expect(c.settings.ringBufferBytes == 8 << 20)
        #expect(c.catchUp == .nice)
    }

    @Test func catchUpSchedulingIsParsed() throws {
        let c = try TcptraceCommand.parseAsRoot(["--catch-up", "fifo"]) as! TraceCommand
        #expect(c.settings.tracerConfiguration(filter: c.selection.filter).catchUp == .fifo)
    }

    /// The kernel aggregates exactly when transitions are not printed.
    @Test func aggregationFollowsTheEvents() throws {
        func aggregates(_ args: [String]) throws -> Bool {
            (try TcptraceCommand.parseAsRoot(args) as! TraceCommand).settings.tracerConfiguration(filter: TraceFilter()).aggregate
        }
        #expect(try !aggregates([]))
        #expect(try !aggregates(["--events", "transitions"]))
        #expect(try !aggregates(["--events", "connections,transitions"]))
        #expect(try aggregates(["--events", "connections,lingerers"]))
        #expect(try aggregates(["--events", "lingerers"]))
    }

    /// Findings are evaluated (evidence kept, a census per evaluation) only for something that
    /// shows them: `finding` records (which `diagnose` writes) or the metrics.
    @Test func findingsAreEvaluatedOnlyWhenShown() throws {
        func evaluates(_ args: [String]) throws -> Bool {
            let c = try TcptraceCommand.parseAsRoot(args)
            return (c as? TraceCommand)?.settings.evaluatesFindings ?? (c as! DiagnoseCommand).settings.evaluatesFindings
        }
        #expect(try !evaluates([]))
        #expect(try !evaluates(["--format", "json", "--output", "/tmp/x"]))
        #expect(try !evaluates(["--format", "json", "--events", "connections,lingerers"]))
        #expect(try evaluates(["--format", "json", "--events", "connections,lingerers,findings"]))
        #expect(try evaluates(["--metrics-textfile", "/tmp/x.prom"]))
        #expect(try evaluates(["--metrics-address", "127.0.0.1:24601"]))
        #expect(try evaluates(["diagnose"]))
    }

    @Test func filtersAreParsed() throws {
        let c =
            try TcptraceCommand.parseAsRoot([
                "-4", "--port", "80,443", "--lport", "8080", "--rport", "5432", "--pid", "42", "--comm", "nginx",
                "--format", "json", "--duration", "500ms", "--ring-buffer-size", "64K",
            ]) as! TraceCommand
        let f = c.selection.filter
        #expect(f.family == .ipv4)
        #expect(f.ports == [80, 443] && f.localPorts == [8080] && f.remotePorts == [5432])
        #expect(f.ownerPID == 42 && f.ownerComm == "nginx")
        #expect(c.format == .json && c.settings.duration == 500_000_000 && c.settings.ringBufferBytes == 65536)
    }

    @Test func topTakesTracesFiltersAndSettings() throws {
        let c = try TcptraceCommand.parseAsRoot(["top", "-4", "--port", "8080", "--close-wait-threshold", "5s", "--ring-buffer-size", "1M"]) as! TopCommand
        #expect(c.selection.filter.family == .ipv4 && c.selection.filter.ports == [8080])
        #expect(c.selection.closeWaitThreshold == 5_000_000_000 && c.selection.ringBufferSize == 1 << 20)
        // `trace` reads the same declarations.
        let t = try TcptraceCommand.parseAsRoot(["--close-wait-threshold", "5s", "--netns", "host"]) as! TraceCommand
        #expect(t.settings.closeWaitThreshold == 5_000_000_000 && t.selection.netns == "host")
    }

    /// A negative number after an option that takes a value reads as an option to the parser;
    /// the message says what is wrong instead of "Missing value".
    @Test(arguments: [["--pid", "-5"], ["--max-connections", "-1"], ["--duration", "-5s"], ["--port", "-80"], ["census", "--top", "-3"]])
    func aNegativeNumberIsNamed(args: [String]) {
        do {
            _ = try TcptraceCommand.parseAsRoot(args)
            Issue.record("\(args) parsed")
        } catch {
            #expect(TcptraceCommand.exitCode(for: error).rawValue == ExitStatus.usage.rawValue)
            let message = TcptraceCommand.message(for: error, arguments: args)
            #expect(message == "\(args[args.count - 2]) \(args.last!): negative values are not accepted", "\(message)")
        }
    }

    @Test func aMissingValueIsStillSaidSo() {
        for args in [["--pid"], ["--pid", "--port", "80"]] {
            do {
                _ = try TcptraceCommand.parseAsRoot(args)
                Issue.record("\(args) parsed")
            } catch {
                #expect(TcptraceCommand.message(for: error, arguments: args).hasPrefix("Missing value for '--pid"))
            }
        }
    }

    @Test(arguments: [
        (["top", "--format", "json"], "--format"),
        (["top", "--output", "x"], "--output"),
        (["top", "-4", "-6"], "-4 and -6"),
        (["top", "--max-connections", "5"], "--max-connections"),
        (["--churn-top", "0"], "--churn-top must be between 1 and 4096"),
        (["top", "--churn-top", "5000"], "--churn-top"),
        (["report", "--churn-top", "0"], "--churn-top"),
        (["--events", "churn,nope"], "churn"),
        (["--format", "xml"], "xml"),
        (["-4", "-6"], "-4 and -6"),
        (["--port", "0"], "invalid port"),
        (["--lport", "70000"], "invalid port"),
        (["--rport", "http"], "invalid port"),
        (["--port", "1,2,3,4,5,6,7,8,9"], "at most 8"),
        (["--pid", "0"], "--pid"),
        (["--append"], "--append needs --output"),
        (["--pid", "abc"], "abc"),
        (["--comm", "a-name-longer-than-15"], "--comm"),
        (["--duration", "soon"], "invalid duration"),
        (["--duration", "0s"], "invalid duration"),
        (["--ring-buffer-size", "5000"], "power of two"),
        (["--ring-buffer-size", "1K"], "power of two"),
        (["--output", ""], "--output"),
        (["--catch-up", "rt"], "rt"),
        (["--metrics-address", "localhost:9464"], "--metrics-address"),
        (["--metrics-address", "127.0.0.1"], "--metrics-address"),
        (["--metrics-address", "::1:9464"], "--metrics-address"),
        (["--metrics-address", "127.0.0.1:0"], "--metrics-address"),
        (["--metrics-textfile", "/tmp/tcptrace.txt"], ".prom"),
        (["--bogus"], "--bogus"),
    ])
    func badInputIsAUsageError(args: [String], mentions: String) {
        do {
            _ = try TcptraceCommand.parseAsRoot(args)
            Issue.record("\(args) parsed")
        } catch {
            #expect(TcptraceCommand.exitCode(for: error).rawValue == ExitStatus.usage.rawValue)
            let message = TcptraceCommand.message(for: error)
            #expect(message.contains(mentions), "\(message)")
            #expect(!message.contains("\n"), "one line: \(message)")
        }
    }
}
