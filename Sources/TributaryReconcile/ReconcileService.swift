public import Logging
public import ServiceLifecycle

/// Runs reconcile passes inside `serve`: a timer around ``Reconciler/runOnce(connection:batch:logger:)``.
///
/// A failed pass logs and waits for the next tick; `run()` returns only on graceful shutdown.
public struct ReconcileService: Service {
    public let reconciler: Reconciler
    public let tick: Duration
    let logger: Logger

    public init(reconciler: Reconciler, tick: Duration = .seconds(1), logger: Logger) {
        self.reconciler = reconciler
        self.tick = tick
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do {
                        _ = try await reconciler.runOnce(logger: logger)
                    } catch {
                        logger.error("reconcile pass failed", metadata: ["error": "\(error)"])
                    }
                    try await Task.sleep(for: tick)
                }
            }
        } catch is CancellationError {
            // Graceful shutdown cancels the wait between passes: a clean stop.
        }
    }
}
