public import Logging
import Synchronization
public import TributaryCore
public import TributaryScheduling
import TributaryProviders

/// The periodic service that runs due polls inside `serve`.
///
/// Each tick starts whatever is due and not already running here, each run as its own child task
/// (at most `runner.concurrency` at once), and does not wait for them: a resource's multi-hour
/// backfill never holds up the other resources' polls. A run in progress elsewhere (cron,
/// another node) is skipped by its lease. Graceful shutdown cancels the wait between ticks and
/// the runs under way (each has committed its pages so far; the next start resumes them).
public enum PollScheduler {
    /// - Parameter finished: called with each run's report as it ends (tests await runs through it).
    public static func service(
        runner: PollRunner, tick: Duration = .seconds(1), clock: EngineClock, logger: Logger,
        finished: @escaping @Sendable (PollReport) -> Void = { _ in }
    ) -> PeriodicService {
        let running = Running()
        return PeriodicService(name: "poll-scheduler", tick: tick, clock: clock, logger: logger) { group in
            for poller in try await runner.duePollers() {
                let key = poller.connection.id + "/" + poller.resource.name
                let started = running.keys.withLock { keys in
                    guard keys.count < runner.concurrency, !keys.contains(key) else { return false }
                    return keys.insert(key).inserted
                }
                guard started else { continue }
                group.addTask {
                    let report = await runner.run(poller, logger: logger)
                    if let error = report.error {
                        logger.warning("poll run failed; the cursor stays at the last committed page", metadata: [
                            "connection": "\(report.connection)", "poll.resource": "\(report.resource)", "error": "\(error)",
                        ])
                    }
                    running.keys.withLock { _ = $0.remove(key) }
                    finished(report)
                }
            }
        }
    }

    /// The resources (connection/resource) this process is polling now.
    final class Running: Sendable {
        let keys = Mutex<Set<String>>([])
    }
}
