import Foundation
public import Logging
import Synchronization
import TributaryScheduling
import TributaryCore
public import TributaryProviders
public import TributaryStore
public import TributaryUpstream

/// Finds what is due and runs it: the part of polling shared by `serve`'s scheduler and `poll` from cron.
///
/// Holds one ``RateLimiter`` per connection, so every poller of a connection (and, later,
/// the reconciler's fetches) draws on one budget.
public final class PollRunner: Sendable {
    public let store: Store
    public let catalog: ManifestCatalog
    let resources: [String: [PollResource]]
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
        holder: String? = nil, clients: UpstreamClients? = nil, now: @escaping @Sendable () -> Int64
    ) {
        self.store = store
        random = Mutex(SplitMix64(seed: UInt64(truncatingIfNeeded: now())))
        self.catalog = catalog
        resources = catalog.providers.mapValues(\.pollResources)
        self.clients = clients ?? UpstreamClients(transport: transport, now: now)
        self.concurrency = max(1, concurrency)
        self.holder = holder ?? LeaseHolder.current()
        self.now = now
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
        var pollers: [Poller] = []
        for connection in try await store.connections() where only == nil || connection.id == only {
            guard let provider = catalog.providers[connection.provider], let api = provider.manifest.api else { continue }
            let credentials = try await store.apiCredentials(connection: connection.id)
            guard credentials.token != nil || credentials.baseURL != nil else { continue }
            let client = clients.client(connection: connection.id, account: connection.account, api: api, baseURL: credentials.baseURL, token: credentials.token)
            for polled in resources[provider.id] ?? [] where resource == nil || polled.name == resource {
                pollers.append(Poller(store: store, resource: polled, client: client, connection: connection, holder: holder, now: now))
            }
        }
        return pollers
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

    /// One run, then the next one scheduled one interval later, jittered by ±10% so resources spread out.
    public func run(_ poller: Poller, logger: Logger) async -> PollReport {
        let report = await poller.runOnce(logger: logger)
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
        } catch {
            logger.warning("cannot schedule the next poll", metadata: ["error": "\(error)"])
        }
        return report
    }
}

extension PollRunner {
    /// Sweeps each sweepable resource whose sweep is due (or every one with `force`: `reconcile --full`),
    /// `concurrency` resources at a time: sweeps draw on the lowest priority of each connection's budget.
    ///
    /// Due: a sweep left `running` (cut short by a crash or a restart) at once; after a failed or
    /// incomplete one, an hour later (or its interval, if shorter); otherwise its interval, jittered
    /// per connection, after the last one began (or after the connection was made).
    /// - Returns: each resource swept (or skipped because another process holds its lease), and how.
    public func runDueSweeps(
        force: Bool = false, connection: String? = nil, resource: String? = nil, logger: Logger
    ) async throws -> [(connection: String, resource: String, outcome: SweepOutcome)] {
        var due: [Poller] = []
        for poller in try await pollers(connection: connection, resource: resource) where poller.sweepable {
            if !force {
                let interval = Self.jittered(poller.resource.sweepInterval.microseconds, key: poller.sweepLeaseName)
                let dueAt: Int64
                switch try await store.latestSweep(connection: poller.connection.id, resource: poller.resource.name) {
                case nil: dueAt = poller.connection.createdAt + interval
                case let latest? where latest.status == .running: dueAt = .min
                case let latest? where latest.status == .complete: dueAt = latest.startedAt + interval
                case let latest?: dueAt = (latest.finishedAt ?? latest.startedAt) + min(interval, 3_600_000_000)
                }
                guard now() >= dueAt else { continue }
            }
            due.append(poller)
        }
        return await forEachConcurrently(due, limit: concurrency) { poller in
            let confirmable = self.catalog.providers[poller.connection.provider]?.manifest.api?.fetch != nil
            return (poller.connection.id, poller.resource.name, await poller.sweepOnce(confirmable: confirmable, logger: logger))
        }
    }

    /// `interval` moved by up to ±10%, the same for a given key every time, so sweeps of many
    /// connections spread out instead of all starting at once.
    static func jittered(_ interval: Int64, key: String) -> Int64 {
        let unit = Double(fnv1a64(key.utf8) % 10_000) / 10_000  // 0 ..< 1
        return interval + Int64((Double(interval) * 0.2 * (unit - 0.5)).rounded())
    }
}
