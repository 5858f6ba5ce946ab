import Foundation
public import Logging
import Synchronization
public import TributaryCore
public import TributaryProviders
public import TributaryScheduling
public import TributaryStore
public import TributaryUpstream
import TributaryTelemetry

/// Finds the sweeps that are due and runs them: what `serve`'s sweep scheduler ticks and what
/// `tributary reconcile --full` calls once. Sweeps read through the process's shared
/// ``UpstreamClients``, at the lowest priority of each connection's budget.
public final class SweepRunner: Sendable {
    public let store: Store
    public let catalog: ManifestCatalog
    public let clients: UpstreamClients
    /// This process's lease holder name.
    public let holder: String
    /// At most this many resources sweep at once.
    public let concurrency: Int
    let now: @Sendable () -> Int64

    public init(
        store: Store, catalog: ManifestCatalog, clients: UpstreamClients, concurrency: Int = 4,
        holder: String? = nil, now: @escaping @Sendable () -> Int64
    ) {
        self.store = store
        self.catalog = catalog
        self.clients = clients
        self.concurrency = max(1, concurrency)
        self.holder = holder ?? LeaseHolder.current()
        self.now = now
    }

    /// A sweeper for every sweepable resource of every connection given API credentials,
    /// optionally narrowed to one connection or resource.
    public func sweepers(connection only: String? = nil, resource: String? = nil) async throws(StoreError) -> [Sweeper] {
        let store = self.store
        let connections = try await store.connections().filter { only == nil || $0.id == only }
        return try await clients.readers(connections: connections, catalog: catalog, resource: resource) { id async throws(StoreError) in
            try await store.apiCredentials(connection: id)
        }.map { Sweeper(store: store, reader: $0, holder: holder, now: now) }.filter(\.sweepable)
    }

    /// Sweeps each sweepable resource whose sweep is due (or every one with `force`: `reconcile --full`),
    /// `concurrency` resources at a time: sweeps draw on the lowest priority of each connection's budget.
    ///
    /// Due: a sweep left `running` (cut short by a crash or a restart) at once; after a failed or
    /// incomplete one, an hour later (or its interval, if shorter); otherwise its interval, jittered
    /// per connection, after the last one began (or after the connection was made).
    /// - Returns: each resource swept (or skipped because another process holds its lease), and how.
    public func runDue(
        force: Bool = false, connection: String? = nil, resource: String? = nil, logger: Logger
    ) async throws(StoreError) -> [SweepRun] {
        var due: [Sweeper] = []
        for sweeper in try await sweepers(connection: connection, resource: resource) {
            if !force {
                let interval = Self.jittered(sweeper.resource.sweepInterval.microseconds, key: sweeper.leaseName)
                let dueAt: Int64
                switch try await store.latestSweep(connection: sweeper.connection.id, resource: sweeper.resource.name) {
                case nil: dueAt = sweeper.connection.createdAt + interval
                case let latest? where latest.status == .running: dueAt = .min
                case let latest? where latest.status == .complete: dueAt = latest.startedAt + interval
                case let latest?: dueAt = (latest.finishedAt ?? latest.startedAt) + min(interval, 3_600_000_000)
                }
                guard now() >= dueAt else { continue }
            }
            due.append(sweeper)
        }
        return await forEachConcurrently(due, limit: concurrency) { sweeper in
            let confirmable = self.catalog.providers[sweeper.connection.provider]?.manifest.api?.fetch != nil
            let run = SweepRun(connection: sweeper.connection.id, resource: sweeper.resource.name, outcome: await sweeper.sweepOnce(confirmable: confirmable, logger: logger))
            Self.count(run, provider: sweeper.connection.provider, telemetry: self.clients.telemetry)
            return run
        }
    }

    /// A sweep's drift in the metrics, once it has ended (a sweep cut short resumes with its counts,
    /// so they are counted when it finishes); an enumeration that could not be trusted is an anomaly.
    static func count(_ run: SweepRun, provider: String, telemetry: Telemetry) {
        guard let sweep = run.outcome.sweep, sweep.status != .running else { return }
        telemetry.count(.sweepDrift, [provider, "missing"], by: sweep.missing)
        telemetry.count(.sweepDrift, [provider, "stale"], by: sweep.stale)
        telemetry.count(.sweepDrift, [provider, "extra"], by: sweep.extra)
        if sweep.status == .incomplete { telemetry.count(.anomalies, ["sweep"]) }
    }

    /// `interval` moved by up to ±10%, the same for a given key every time, so sweeps of many
    /// connections spread out instead of all starting at once.
    static func jittered(_ interval: Int64, key: String) -> Int64 {
        let unit = Double(fnv1a64(key.utf8) % 10_000) / 10_000  // 0 ..< 1
        return interval + Int64((Double(interval) * 0.2 * (unit - 0.5)).rounded())
    }

    /// The periodic service that runs due sweeps inside `serve`, apart from the polls so a long
    /// sweep never holds them up.
    public func service(tick: Duration = .seconds(60), clock: EngineClock, logger: Logger) -> PeriodicService {
        PeriodicService(name: "sweep-scheduler", tick: tick, jitter: 0.1, clock: clock, logger: logger) {
            _ = try await self.runDue(logger: logger)
        }
    }
}
