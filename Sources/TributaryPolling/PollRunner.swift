import Foundation
public import Logging
import Synchronization
import TributaryScheduling
public import TributaryCore
public import TributaryProviders
public import TributaryStore
public import TributaryUpstream
import TributaryTelemetry

/// Finds what is due and runs it: the part of polling shared by `serve`'s scheduler and `poll` from cron.
///
/// Draws on the process's ``UpstreamClients``: one ``RateLimiter`` per connection, so every poller
/// of a connection, its sweeps and the reconciler's fetches draw on one budget.
public final class PollRunner: Sendable {
    public let store: Store
    public let catalog: ManifestCatalog
    public let clients: UpstreamClients
    /// This process's lease holder name.
    public let holder: String
    /// At most this many resources poll at once.
    public let concurrency: Int
    let now: @Sendable () -> Int64
    /// Jitter for backoff, seeded from the injected clock (tests that fix the clock get fixed jitter).
    let random: Mutex<SplitMix64>

    public init(
        store: Store, catalog: ManifestCatalog, transport: any UpstreamTransport, concurrency: Int = 4,
        holder: String? = nil, clients: UpstreamClients? = nil, clock: EngineClock
    ) {
        self.store = store
        random = Mutex(SplitMix64(seed: UInt64(truncatingIfNeeded: clock.now())))
        self.catalog = catalog
        self.clients = clients ?? UpstreamClients(transport: transport, clock: clock)
        self.concurrency = max(1, concurrency)
        self.holder = holder ?? LeaseHolder.current()
        now = clock.now
    }

    /// The connection's shared limiter (the same one the reconciler's fetches use).
    public func limiter(for connection: Connection, api: ProviderManifest.API) -> RateLimiter {
        clients.limiter(for: connection.id, api: api)
    }

    /// The pollers for every polled resource, optionally narrowed to one connection or resource.
    ///
    /// Only connections given API credentials (an API token or a base URL) are polled: one made
    /// for webhooks alone must not start calling the provider's real API, unauthenticated.
    public func pollers(connection only: String? = nil, resource: String? = nil) async throws -> [Poller] {
        let store = self.store
        let connections = try await store.connections().filter { only == nil || $0.id == only }
        return try await clients.readers(connections: connections, catalog: catalog, resource: resource) { id async throws(StoreError) in
            try await store.apiCredentials(connection: id)
        }.map { Poller(store: store, reader: $0, holder: holder, now: now) }
    }

    /// Runs every poller that is due (or all of them with `force`), `concurrency` at a time.
    public func runDue(force: Bool = false, connection: String? = nil, resource: String? = nil, logger: Logger) async throws -> [PollReport] {
        let due = try await duePollers(force: force, connection: connection, resource: resource)
        return await forEachConcurrently(due, limit: concurrency) { poller in await self.run(poller, logger: logger) }
    }

    /// The pollers whose next run is due (every one with `force`).
    public func duePollers(force: Bool = false, connection: String? = nil, resource: String? = nil) async throws -> [Poller] {
        let current = now()
        var due: [Poller] = []
        for poller in try await pollers(connection: connection, resource: resource) {
            let state = try await store.pollState(connection: poller.connection.id, resource: poller.resource.name)
            // A run cut short resumes when its next_run_at says (at once when it stopped cleanly,
            // an interval later after an error), not on every tick.
            if force || (state.nextRunAt ?? .min) <= current { due.append(poller) }
        }
        return due
    }

    /// What a run did, in the metrics: pages, new events, the run's result, and its cursor anomalies.
    static func count(_ report: PollReport, provider: String, telemetry: Telemetry) {
        let connection = report.connection
        let result = report.skipped ? "skipped" : report.error != nil ? "error" : report.notModified ? "not_modified" : "ok"
        telemetry.count(.pollRuns, [provider, result], connection: connection)
        telemetry.count(.pollPages, [provider], connection: connection, by: report.pages)
        telemetry.count(.pollEvents, [provider], connection: connection, by: report.newEvents)
        telemetry.count(.anomalies, ["cursor"], by: report.anomalies.count)
    }

    /// One run, then the next one scheduled one interval later, jittered by ±10% so resources spread out.
    public func run(_ poller: Poller, logger: Logger) async -> PollReport {
        let report = await poller.runOnce(logger: logger)
        Self.count(report, provider: poller.connection.provider, telemetry: clients.telemetry)
        guard !report.skipped else { return report }
        let interval = poller.resource.interval.microseconds
        let jitter = random.withLock { Int64((Double(interval) * 0.2 * ($0.nextUnit() - 0.5)).rounded()) }
        let finished = now()
        do {
            let state = try await store.pollState(connection: poller.connection.id, resource: poller.resource.name)
            // A run cut short by maxPages or an error resumes soon; a finished one waits its interval.
            let next = state.cursor.run != nil && report.error == nil ? finished : finished + interval + jitter
            try await store.recordPollRun(
                connection: poller.connection.id, resource: poller.resource.name,
                startedAt: state.lastRunStartedAt ?? finished, finishedAt: state.lastRunFinishedAt ?? finished,
                nextRunAt: next, error: report.error, anomaly: nil
            )
            let budget = await poller.client.limiter.snapshot
            try await store.saveRateLimitState(connection: poller.connection.id, state: JSONValue.object([
                ("tokens", .number(String(format: "%.2f", budget.tokens))),
                ("capacity", .number(String(format: "%.2f", budget.capacity))),
                ("refill_per_second", .number(String(format: "%.4f", budget.refillPerSecond))),
                ("blocked_until", .string(Timestamp.rfc3339(microseconds: budget.blockedUntil))),
                ("consecutive_throttles", .number(String(budget.consecutiveThrottles))),
            ]).jsonText, now: finished)
        } catch where !Task.isCancelled {
            logger.warning("cannot schedule the next poll", metadata: ["error": "\(error)"])
        } catch {
            // Cancelled (shutdown, or a command out of time): the lease and the schedule are taken over next start.
        }
        return report
    }
}
