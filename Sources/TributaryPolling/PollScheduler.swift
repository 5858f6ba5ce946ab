public import Logging
public import ServiceLifecycle
import Synchronization
import TributaryScheduling
import TributaryCore
import TributaryProviders
import TributaryStore

/// The periodic service that runs due polls inside `serve`.
///
/// Each tick starts whatever is due and not already running here, without waiting for runs still
/// going; a run in progress elsewhere (cron, another node) is skipped by its lease.
public enum PollScheduler {
    public static func service(runner: PollRunner, tick: Duration = .seconds(1), logger: Logger) -> some Service {
        Polls(runner: runner, tick: tick, logger: logger)
    }

    /// The resources (connection/resource) this process is polling now.
    final class Running: Sendable {
        let keys = Mutex<Set<String>>([])
    }

    /// Each tick starts every due resource not already running in this process, each as its own
    /// child task (at most `runner.concurrency` at once), and does not wait for them: a resource's
    /// multi-hour backfill never holds up the other resources' polls.
    struct Polls: Service {
        let runner: PollRunner
        let tick: Duration
        let logger: Logger

        func run() async throws {
            let running = Running()
            // Graceful shutdown cancels the wait between ticks and the runs under way (each has
            // committed its pages so far; the next start resumes them).
            await cancelWhenGracefulShutdown {
                await withDiscardingTaskGroup { group in
                    while !Task.isCancelled {
                        do {
                            for poller in try await runner.duePollers() {
                                let key = poller.connection.id + "/" + poller.resource.name
                                let started = running.keys.withLock { keys in
                                    guard keys.count < runner.concurrency, !keys.contains(key) else { return false }
                                    return keys.insert(key).inserted
                                }
                                guard started else { continue }
                                group.addTask {
                                    _ = await runner.run(poller, logger: logger)
                                    running.keys.withLock { _ = $0.remove(key) }
                                }
                            }
                        } catch is CancellationError {
                            return
                        } catch {
                            logger.error("periodic pass failed", metadata: ["service": "poll-scheduler", "error": "\(error)"])
                        }
                        do { try await Task.sleep(for: tick) } catch { return }
                    }
                }
            }
        }
    }

}
