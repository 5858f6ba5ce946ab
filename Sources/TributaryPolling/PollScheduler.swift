public import Logging
public import TributaryScheduling

/// The periodic service that runs due polls inside `serve`.
///
/// Each tick starts whatever is due (``PollRunner/runDue(force:connection:resource:logger:)``);
/// a run already in progress elsewhere (cron, another node) is skipped by its lease.
public enum PollScheduler {
    public static func service(runner: PollRunner, tick: Duration = .seconds(1), logger: Logger) -> PeriodicService {
        PeriodicService(name: "poll-scheduler", tick: tick, logger: logger) {
            _ = try await runner.runDue(logger: logger)
        }
    }

    /// The periodic service that runs due full sweeps inside `serve`, apart from the polls so a
    /// long sweep never holds them up.
    public static func sweepService(runner: PollRunner, tick: Duration = .seconds(60), logger: Logger) -> PeriodicService {
        PeriodicService(name: "sweep-scheduler", tick: tick, logger: logger) {
            _ = try await runner.runDueSweeps(logger: logger)
        }
    }
}
