public import Logging
public import ServiceLifecycle

/// The periodic service that runs due polls inside `serve`.
///
/// A timer around ``PollRunner/runDue(force:connection:resource:logger:)``: each tick starts
/// whatever is due; a run already in progress elsewhere (cron, another node) is skipped by its
/// lease; ticks missed while a run was slow collapse into one. A failed tick logs and waits for
/// the next — `run()` returns only on graceful shutdown.
public struct PollScheduler: Service {
    public let runner: PollRunner
    public let tick: Duration
    let logger: Logger

    public init(runner: PollRunner, tick: Duration = .seconds(1), logger: Logger) {
        self.runner = runner
        self.tick = tick
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do {
                        _ = try await runner.runDue(logger: logger)
                    } catch is CancellationError {
                        return
                    } catch {
                        logger.error("poll tick failed", metadata: ["error": "\(error)"])
                    }
                    try await Task.sleep(for: tick)
                }
            }
        } catch is CancellationError {
            // Graceful shutdown cancels the wait between ticks: that is a clean stop.
        }
    }
}
