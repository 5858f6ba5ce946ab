public import Logging
public import ServiceLifecycle
public import TributaryCore

/// One generic periodic service: a timer around a pass that owns nothing else.
///
/// The poll scheduler, the sweep scheduler and the reconciler are all this loop around their own
/// pass (STYLE.md §2): a failed pass logs and waits for the next tick, ticks missed while a pass
/// ran long collapse into one (the next wait starts when the pass ends), and `run()` returns only
/// on graceful shutdown, which cancels the wait and whatever the passes started.
///
/// A pass may start child tasks that outlive it (the task-group form): a poll run that takes
/// hours must not hold up the next tick's other runs. They run in one task group that the service
/// owns, so shutdown cancels them and `run()` returns only after they have ended.
public struct PeriodicService: Service {
    public let name: String
    public let tick: Duration
    /// Each wait is `tick` moved by up to ± this fraction (0 … 0.5), so many processes started
    /// together do not keep passing in step.
    public let jitter: Double
    let clock: EngineClock
    let pass: @Sendable (inout DiscardingTaskGroup) async throws -> Void
    let logger: Logger

    /// The plain form: one pass per tick, awaited before the next wait.
    public init(
        name: String, tick: Duration, jitter: Double = 0, clock: EngineClock, logger: Logger,
        pass: @escaping @Sendable () async throws -> Void
    ) {
        self.init(name: name, tick: tick, jitter: jitter, clock: clock, logger: logger, spawning: { _ in try await pass() })
    }

    /// The task-group form: each pass may add child tasks to `group` and return without awaiting them.
    public init(
        name: String, tick: Duration, jitter: Double = 0, clock: EngineClock, logger: Logger,
        spawning pass: @escaping @Sendable (inout DiscardingTaskGroup) async throws -> Void
    ) {
        self.name = name
        self.tick = tick
        self.jitter = min(0.5, max(0, jitter))
        self.clock = clock
        self.logger = logger
        self.pass = pass
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                var random = SplitMix64(seed: UInt64(truncatingIfNeeded: clock.now()) ^ fnv1a64(name.utf8))
                while !Task.isCancelled {
                    do {
                        try await pass(&group)
                    } catch is CancellationError {
                        return
                    } catch {
                        // A pass cut short by shutdown fails with whatever it was waiting on: not an error to report.
                        if Task.isCancelled { return }
                        logger.error("periodic pass failed", metadata: ["service": "\(name)", "error": "\(error)"])
                    }
                    do {
                        try await clock.sleep(Self.wait(tick, jitter: jitter, unit: random.nextUnit()))
                    } catch {
                        return  // graceful shutdown cancelled the wait: a clean stop
                    }
                }
            }
        }
    }

    /// `tick` moved by `jitter × (2·unit − 1)` of itself, `unit` in 0 ..< 1.
    static func wait(_ tick: Duration, jitter: Double, unit: Double) -> Duration {
        guard jitter > 0 else { return tick }
        return tick * (1 + jitter * (2 * unit - 1))
    }
}
