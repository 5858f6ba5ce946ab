import ArgumentParser
import TributaryCore
import TributaryRuntime

/// `tributary reconcile [--full]`: apply pending events to the mirror (after a full sweep) and exit — for cron.
struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending events to the mirror and exit; with --full, sweep every polled resource against the provider first."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this connection.") var connection: String?
    @Flag(help: "Enumerate every record of every sweepable resource, report drift (missing, stale, extra) and confirm suspected deletions by fetch.")
    var full = false
    @Option(name: .customLong("max-wait"), parsing: .unconditional, help: "Seconds one request (a fetch, a sweep page) may keep retrying a provider that fails or throttles (at most 8 attempts) before the command gives up with its last error.")
    var maxWait = 60

    func validate() throws {
        guard maxWait > 0 else { throw ValidationError("--max-wait must be a positive number of seconds, not \(maxWait)") }
    }

    func run() async throws {
        let engine = try global.openEngine(maxWait: .seconds(maxWait))
        let (report, sweeps) = try await engine.reconcile(full: full, connection: connection)
        if global.json {
            Output.json(report.json(sweeps: full ? sweeps : nil))
        } else {
            for run in sweeps {
                let (connection, resource) = (run.connection, run.resource)
                switch run.outcome {
                case .ended(let s):
                    Output.line("sweep \(s.generation) \(connection)/\(resource): \(s.status.rawValue), seen \(s.seen), drift: missing \(s.missing), stale \(s.stale), extra \(s.extra); confirmed deleted \(s.confirmedDeleted)\(s.error.map { " (\($0))" } ?? "")")
                case .skipped:
                    Output.line("sweep \(connection)/\(resource): skipped, another process holds its lease (it is being swept there)")
                case .storeFailed(let why):
                    Output.line("sweep \(connection)/\(resource): failed in the store: \(why)")
                }
            }
            Output.line("applied \(report.applied), superseded \(report.superseded), unchanged \(report.unchanged), fetches \(report.fetches) (\(report.fetchFailures) failed), still needing a fetch \(report.needFetch)")
        }
        for run in sweeps {
            if case .ended(let s) = run.outcome, s.status == .failed {
                throw CLIError.failure("the sweep of \(run.connection)/\(run.resource) failed: \(s.error ?? "no cause recorded")")
            }
        }
        if report.fetchFailures > 0 {
            throw CLIError.failure("\(report.fetchFailures) fetch(es) from the provider failed; their events wait for the next pass (last provider error: \(engine.lastProviderError ?? "none recorded"))")
        }
        if let failed = sweeps.first(where: { if case .storeFailed = $0.outcome { true } else { false } }) {
            throw CLIError.failure("the sweep of \(failed.connection)/\(failed.resource) failed in the store")
        }
    }
}
