import Synchronization
public import TributaryCore
public import TributaryProviders
public import TributaryTelemetry

/// Where the OAuth styles' access tokens come from: the composition root's token source, which
/// renews each connection's token exactly once however many requests and processes need it.
public protocol AccessTokens: Sendable {
    /// The renewing token of `connection`, whose API is at `baseURL` (a token URL that is a path is under it).
    func renewing(for connection: Connection, api: ProviderManifest.API, baseURL: String) -> RenewingToken
}

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
    /// How long each request may keep waiting on a failing provider: a one-shot command's `--max-wait`.
    let maxWait: Duration?
    private let failure = Mutex<String?>(nil)
    /// Access tokens for the OAuth styles; `nil` where no one renews them (such a connection's calls fail, saying so).
    let accessTokens: (any AccessTokens)?
    /// Where every client counts its requests.
    public let telemetry: Telemetry

    /// - Parameter maxWait: how long each request may keep retrying from its first attempt; `nil`
    ///   (`serve`): no limit beyond `maxAttempts`.
    public init(
        transport: any UpstreamTransport, clock: EngineClock, maxAttempts: Int = 8, maxWait: Duration? = nil, accessTokens: (any AccessTokens)? = nil,
        telemetry: Telemetry = .off
    ) {
        self.telemetry = telemetry
        self.transport = transport
        self.accessTokens = accessTokens
        self.clock = clock
        self.maxAttempts = maxAttempts
        self.maxWait = maxWait
    }

    /// The cause of the latest failed provider request, by any client: what a command that ran out
    /// of time reports.
    public var lastFailure: String? { failure.withLock { $0 } }

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
    public func client(for connection: Connection, api manifestAPI: ProviderManifest.API, baseURL: String?, token: String?) -> UpstreamClient {
        let api = manifestAPI.resolved(for: connection, hasToken: token != nil)
        var renewing: RenewingToken?
        if api.auth.style.isOAuth {
            let base = baseURL ?? UpstreamClient.fill(api.baseURL, account: connection.account)
            renewing = accessTokens?.renewing(for: connection, api: api, baseURL: base) ?? RenewingToken(
                current: { throw UpstreamError("\(connection.provider) API: no access token source in this process for an OAuth connection", refused: true) },
                rejected: { _ in throw UpstreamError("\(connection.provider) API: no access token source in this process for an OAuth connection", refused: true) }
            )
        }
        return UpstreamClient(
            transport: transport, limiter: limiter(for: connection.id, api: api), api: api, baseURL: baseURL,
            token: api.auth.style.isOAuth ? nil : token, account: connection.account, renewing: renewing, maxAttempts: maxAttempts, provider: connection.provider, maxWait: maxWait,
            onFailure: { cause in self.failure.withLock { $0 = cause } }, clock: clock, telemetry: telemetry, connection: connection.id
        )
    }

    /// A reader for each polled resource (or only `resource`) of each of `connections` given API
    /// credentials (an API token or a base URL): a connection made for webhooks alone must not
    /// start calling the provider's real API, unauthenticated. Polls and sweeps both list their
    /// work through this one rule.
    /// - Parameter credentials: a connection's API base URL and token (the store opens them).
    public func readers(
        connections: [Connection], catalog: ManifestCatalog, resource: String? = nil,
        credentials: (String) async throws(StoreError) -> (baseURL: String?, token: String?, authorized: Bool)
    ) async throws(StoreError) -> [ResourceReader] {
        var readers: [ResourceReader] = []
        for connection in connections {
            guard let provider = catalog.providers[connection.provider], let api = provider.manifest.api else { continue }
            let (baseURL, token, authorized) = try await credentials(connection.id)
            // OAuth: a connection the customer authorized, or one whose app's credentials buy its tokens.
            let eligible = switch api.resolved(for: connection, hasToken: token != nil).auth.style {
            case .oauth2: authorized
            // The app's credentials (client credentials, or the GitHub App's key) buy its tokens.
            case .oauth2ClientCredentials, .githubApp: connection.app != nil
            default: token != nil || baseURL != nil
            }
            guard eligible else { continue }
            let client = client(for: connection, api: api, baseURL: baseURL, token: token)
            for polled in provider.pollResources where resource == nil || polled.name == resource {
                readers.append(ResourceReader(resource: polled, client: client, connection: connection, now: clock.now))
            }
        }
        return readers
    }
}
