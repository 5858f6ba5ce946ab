import TributaryCore
import TributaryProviders
import TributaryUpstream

/// A transport that is never called: the targets build requests and parse responses, nothing is sent.
struct NoTransport: UpstreamTransport {
    func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
        throw UpstreamError("fuzz targets send nothing")
    }
}

extension Fuzz {
    /// An upstream client for `provider`'s API, as the poller builds one (base URL from the manifest).
    public static func client(for manifest: ProviderManifest) -> UpstreamClient? {
        guard let api = manifest.api else { return nil }
        // A clock stopped at the epoch that never waits: nothing is sent, so nothing is ever paced.
        let clock = EngineClock(now: { 0 }, sleep: { _ in })
        let limiter = RateLimiter(budget: RateLimitBudget(capacity: 10, refillPerSecond: 1, now: 0), clock: clock)
        return UpstreamClient(transport: NoTransport(), limiter: limiter, api: api, baseURL: nil, token: "fuzz-token", account: "acct_fuzz", clock: clock)
    }
}
