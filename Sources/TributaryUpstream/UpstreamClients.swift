import Synchronization
import TributaryCore
public import TributaryProviders

/// One rate limiter per connection for the whole process, and the clients built on them.
///
/// Pollers and the reconciler's fetches of a connection must draw on one budget (DESIGN.md §3
/// rule 8), yet feature targets never import each other: the composition root makes one of
/// these and hands it to both.
public final class UpstreamClients: Sendable {
    let transport: any UpstreamTransport
    let limiters = Mutex([String: RateLimiter]())
    let now: @Sendable () -> Int64
    /// Attempts per request (throttles and server or transport errors retry).
    let maxAttempts: Int

    public init(transport: any UpstreamTransport, now: @escaping @Sendable () -> Int64, maxAttempts: Int = 8) {
        self.transport = transport
        self.now = now
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
                budget: RateLimitBudget(capacity: Double(rate?.burst ?? rate?.requests ?? 10), refillPerSecond: requests / per, now: now()),
                now: now
            )
            limiters[connection] = limiter
            return limiter
        }
    }

    /// A client for `connection`'s provider API, sharing the connection's limiter.
    public func client(connection: String, account: String?, api: ProviderManifest.API, baseURL: String?, token: String?) -> UpstreamClient {
        UpstreamClient(
            transport: transport, limiter: limiter(for: connection, api: api), api: api, baseURL: baseURL,
            token: token, account: account, maxAttempts: maxAttempts, now: now
        )
    }
}
