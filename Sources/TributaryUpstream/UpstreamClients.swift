import Synchronization
public import TributaryCore
public import TributaryProviders

/// One rate limiter per connection for the whole process, and the clients built on them.
///
/// Pollers and the reconciler's fetches of a connection must draw on one budget (DESIGN.md §3
/// rule 8), yet feature targets never import each other: the composition root makes one of
/// these and hands it to both.
public final class UpstreamClients: Sendable {
    let transport: any UpstreamTransport
    let limiters = Mutex([String: RateLimiter]())
    let clock: EngineClock
    /// Attempts per request (throttles and server or transport errors retry).
    let maxAttempts: Int

    public init(transport: any UpstreamTransport, clock: EngineClock, maxAttempts: Int = 8) {
        self.transport = transport
        self.clock = clock
        self.maxAttempts = maxAttempts
    }

    /// The connection's shared limiter, created from the manifest's default budget on first use.
    public func limiter(for connection: String, api: ProviderManifest.API) -> RateLimiter {
        limiters.withLock { limiters in
            if let existing = limiters[connection] { return existing }
            let rate = api.rateLimit
            let requests = Double(rate?.requests ?? 10)
            let per = Double(rate?.per ?? 1)
            let limiter = RateLimiter(
                budget: RateLimitBudget(capacity: Double(rate?.burst ?? rate?.requests ?? 10), refillPerSecond: requests / per, now: clock.now()),
                clock: clock
            )
            limiters[connection] = limiter
            return limiter
        }
    }

    /// A client for `connection`'s provider API, sharing the connection's limiter.
    public func client(connection: String, account: String?, api: ProviderManifest.API, baseURL: String?, token: String?) -> UpstreamClient {
        UpstreamClient(
            transport: transport, limiter: limiter(for: connection, api: api), api: api, baseURL: baseURL,
            token: token, account: account, maxAttempts: maxAttempts, clock: clock
        )
    }

    /// A reader for each polled resource (or only `resource`) of each of `connections` given API
    /// credentials (an API token or a base URL): a connection made for webhooks alone must not
    /// start calling the provider's real API, unauthenticated. Polls and sweeps both list their
    /// work through this one rule.
    /// - Parameter credentials: a connection's API base URL and token (the store opens them).
    public func readers(
        connections: [Connection], catalog: ManifestCatalog, resource: String? = nil,
        credentials: (String) async throws(StoreError) -> (baseURL: String?, token: String?)
    ) async throws(StoreError) -> [ResourceReader] {
        var readers: [ResourceReader] = []
        for connection in connections {
            guard let provider = catalog.providers[connection.provider], let api = provider.manifest.api else { continue }
            let (baseURL, token) = try await credentials(connection.id)
            guard token != nil || baseURL != nil else { continue }
            let client = client(connection: connection.id, account: connection.account, api: api, baseURL: baseURL, token: token)
            for polled in provider.pollResources where resource == nil || polled.name == resource {
                readers.append(ResourceReader(resource: polled, client: client, connection: connection, now: clock.now))
            }
        }
        return readers
    }
}
