public import Logging
public import ServiceLifecycle

/// One generic periodic service: a timer around a `runOnce` that owns nothing else.
///
/// The poll scheduler and the reconciler are both this loop around their own `runOnce`
/// (STYLE.md §2): a failed pass logs and waits for the next tick, ticks missed while a pass
/// ran long collapse into one, and `run()` returns only on graceful shutdown.
public struct PeriodicService: Service {
    public let name: String
    public let tick: Duration
    let pass: @Sendable () async throws -> Void
    let logger: Logger

    public init(name: String, tick: Duration, logger: Logger, pass: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.tick = tick
        self.logger = logger
        self.pass = pass
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do {
                        try await pass()
                    } catch is CancellationError {
                        return
                    } catch {
                        logger.error("periodic pass failed", metadata: ["service": "\(name)", "error": "\(error)"])
                    }
                    try await Task.sleep(for: tick)
                }
            }
        } catch is CancellationError {
            // Graceful shutdown cancels the wait between passes: a clean stop.
        }
    }
}
