public import Logging
public import TributaryCore
public import TributaryScheduling

/// Runs reconcile passes inside `serve`: the periodic service around ``Reconciler/runOnce(connection:batch:logger:)``.
public enum ReconcileService {
    public static func service(reconciler: Reconciler, tick: Duration = .seconds(1), clock: EngineClock, logger: Logger) -> PeriodicService {
        PeriodicService(name: "reconciler", tick: tick, clock: clock, logger: logger) {
            _ = try await reconciler.runOnce(logger: logger)
        }
    }
}
