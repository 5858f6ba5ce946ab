/// Everything that shapes one simulated provider: its data, its cursors, its limits and its faults.
///
/// Build one with `SimulatorConfiguration()` and change the fields that matter; every
/// field has a default that gives a well-behaved provider. ``ProviderSimulator`` checks
/// the whole value when it is built and throws ``SimulatorError`` naming the key and the
/// reason, so a bad value never surfaces mid-run.
///
/// - Configuration keys (`tributary-sim` flag in brackets):
///   - `host` (`--host`, default `127.0.0.1`), `port` (`--port`, default 8090; 0 picks a free one).
///   - `seed` (`--seed`, default 1): the same seed and the same calls give the same records, events and chaos.
///   - `types` (`--types`, default `customer,ticket`): record types; lowercase letters and `_`.
///     Ids are `<prefix>_<6 digits>` with prefix `cus` for customer, `tkt` for ticket, else the first three letters.
///   - `initialRecordsPerType` (`--records`, default 100): records created per type before anything listens.
///   - `granularity` (`--granularity`, default `seconds`): resolution of `updated_at`. With whole seconds,
///     everything that changes within one second shares a timestamp, which is what breaks naive cursors.
///   - `mutationWeights` (default create 2, update 6, delete 1): relative odds of each generated change.
///   - `mutationsPerSecond` (`--mutations-per-second`, default none): starts the background mutation loop at launch.
///   - `tokens` (`--token`, default `sim_token`): accepted bearer tokens; each has its own rate-limit bucket.
///   - `rateLimit` (`--rate-limit`, `--burst`, default none = unlimited, no rate-limit headers).
///   - `retryAfterFormat` (`--retry-after-format`, default `seconds`), `resetFormat` (`--reset-format`, default `delta`).
///   - `chaos` (`--chaos-429`, `--chaos-5xx`, `--latency-ms`, `--repeat-at-boundary`): see ``Chaos``.
///   - `defaultPageSize` (100) and `maxPageSize` (1000): a larger `limit` is clamped, not refused.
///   - `syncTokenLifetimeSeconds` (`--sync-token-ttl`, default 3600) and `syncTokenMaxChanges`
///     (`--sync-token-max-changes`, default none): a sync token older than either answers 410.
///   - `eventRetentionSeconds` (`--event-retention`, default 30 days) and `maxRetainedEvents` (default 200,000):
///     older events are pruned; a `starting_after` whose successors were pruned answers 400 `{"error":"event_expired"}`
///     rather than an empty page, which a client could not tell from "nothing new".
///   - `deletedFetchStatus` (`--deleted-status`, default 404): what fetching a deleted record answers.
///   - `hardDeletes` (`--hard-deletes`): deleted records vanish from the timestamp lists (no tombstone is listed).
///   - `webhooks` (`--webhook-url`, `--webhook-secret`, `--drop`, `--duplicate`, `--reorder-window`, default none).
public struct SimulatorConfiguration: Sendable {
    /// The resolution of `updated_at` as stored, listed and compared.
    public enum Granularity: String, Sendable, CaseIterable {
        case seconds
        case milliseconds

        /// `micros` rounded down to this resolution.
        public func truncate(_ micros: Int64) -> Int64 {
            let unit: Int64 = self == .seconds ? 1_000_000 : 1_000
            return micros.floorDivided(by: unit) * unit
        }
    }

    /// How a 429 states when to come back (RFC 9110 §10.2.3 allows both).
    public enum RetryAfterFormat: String, Sendable, CaseIterable {
        /// `Retry-After: 2`
        case seconds
        /// `Retry-After: Fri, 20 Nov 2026 10:00:02 GMT`
        case httpDate = "http-date"
        /// Seconds on the first 429, an HTTP-date on the next, and so on — clients must read both.
        case alternate
    }

    /// How `X-RateLimit-Reset` is written (GitHub sends epoch seconds, others a delta).
    public enum ResetFormat: String, Sendable, CaseIterable {
        /// Seconds until the bucket is full again.
        case delta
        /// Unix time, in seconds, when the bucket is full again.
        case epoch
    }

    /// What `GET /v1/{type}/{id}` answers for a deleted record.
    public enum DeletedFetchStatus: Int, Sendable {
        case notFound = 404
        case gone = 410
    }

    /// A token bucket per bearer token: `requestsPerSecond` refill, `burst` capacity.
    public struct RateLimit: Sendable, Equatable {
        public var requestsPerSecond: Double
        public var burst: Int

        public init(requestsPerSecond: Double, burst: Int) {
            self.requestsPerSecond = requestsPerSecond
            self.burst = burst
        }
    }

    /// Faults injected into the list and fetch endpoints (never into `/_sim`).
    ///
    /// Draws come from their own stream of the seed, so they replay for a client that
    /// sends the same requests in the same order.
    public struct Chaos: Sendable, Equatable {
        /// Fraction of requests answered 429 although the bucket has room (0...1).
        public var rateLimitFraction: Double = 0
        /// The `Retry-After` those chaos 429s give, in seconds.
        public var rateLimitRetryAfterSeconds: Int = 1
        /// Fraction of admitted requests answered 500 or 503 (even odds), after the bucket took its token.
        public var serverErrorFraction: Double = 0
        /// Real-time delay added before every answer: a fixed value (`min == max`) or uniform in the range, in ms.
        public var latencyMilliseconds: ClosedRange<Int>? = nil
        /// Continuation pages of the timestamp and page-token styles begin with the `K` items that precede
        /// the cursor — the last `K` of the previous page — as providers with unstable paging do.
        /// Capped at `limit - 1` so that every page still moves forward.
        public var repeatAtBoundary: Int = 0

        public init() {}
    }

    /// Relative odds of create, update and delete in generated changes.
    public struct MutationWeights: Sendable, Equatable {
        public var create: Int
        public var update: Int
        public var delete: Int

        public init(create: Int = 2, update: Int = 6, delete: Int = 1) {
            self.create = create
            self.update = update
            self.delete = delete
        }
    }

    public var host = "127.0.0.1"
    public var port = 8090
    public var seed: UInt64 = 1
    public var types = ["customer", "ticket"]
    public var initialRecordsPerType = 100
    public var granularity = Granularity.seconds
    public var mutationWeights = MutationWeights()
    public var mutationsPerSecond: Double?
    public var tokens = ["sim_token"]
    /// An OAuth 2.0 server at `/oauth/*` whose access tokens the API accepts too; `nil`: none.
    public var oauth: SimulatorOAuthConfiguration?
    /// The longest life `/v1/subscriptions` grants a subscription, in seconds.
    public var subscriptionMaxSeconds: Int64 = 3600
    public var rateLimit: RateLimit?
    public var retryAfterFormat = RetryAfterFormat.seconds
    public var resetFormat = ResetFormat.delta
    public var chaos = Chaos()
    public var defaultPageSize = 100
    public var maxPageSize = 1000
    public var syncTokenLifetimeSeconds: Int64? = 3600
    public var syncTokenMaxChanges: Int64?
    public var eventRetentionSeconds: Int64 = 30 * 86_400
    public var maxRetainedEvents = 200_000
    public var deletedFetchStatus = DeletedFetchStatus.notFound
    /// Deleted records vanish from the timestamp lists instead of staying as tombstones, as with a
    /// provider that hard-deletes: only webhooks, the event feed, delta lists and a 404/410 on fetch tell.
    public var hardDeletes = false
    public var webhooks: WebhookConfiguration?

    public init() {}

    /// Checks every field; the first problem is thrown with its key.
    public func validate() throws(SimulatorError) {
        guard (0...65535).contains(port) else { throw .configuration("port", "must be between 0 and 65535, not \(port)") }
        guard !types.isEmpty else { throw .configuration("types", "at least one record type is needed") }
        var prefixes: [String: String] = [:]
        for type in types {
            guard !type.isEmpty, type.utf8.allSatisfy({ ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || $0 == UInt8(ascii: "_") }) else {
                throw .configuration("types", "\"\(type)\" must be lowercase letters and underscores")
            }
            guard type != "events" else { throw .configuration("types", "\"events\" is the event endpoint, not a record type") }
            let prefix = Self.idPrefix(for: type)
            if let other = prefixes[prefix] {
                throw .configuration("types", "\"\(type)\" and \"\(other)\" would share the id prefix \"\(prefix)_\"")
            }
            prefixes[prefix] = type
        }
        guard initialRecordsPerType >= 0 else { throw .configuration("initialRecordsPerType", "must not be negative") }
        let weights = mutationWeights
        guard weights.create >= 0, weights.update >= 0, weights.delete >= 0, weights.create > 0 else {
            throw .configuration("mutationWeights", "weights must not be negative and create must be positive")
        }
        if let rate = mutationsPerSecond, !(rate > 0 && rate <= 100_000) {
            throw .configuration("mutationsPerSecond", "must be in (0, 100000], not \(rate)")
        }
        guard !tokens.isEmpty, tokens.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) else {
            throw .configuration("tokens", "at least one token, without spaces")
        }
        if let limit = rateLimit {
            guard limit.requestsPerSecond > 0, limit.requestsPerSecond.isFinite else {
                throw .configuration("rateLimit.requestsPerSecond", "must be positive")
            }
            guard limit.burst >= 1 else { throw .configuration("rateLimit.burst", "must be at least 1") }
        }
        guard (0...1).contains(chaos.rateLimitFraction) else { throw .configuration("chaos.rateLimitFraction", "must be within 0...1") }
        guard (0...1).contains(chaos.serverErrorFraction) else { throw .configuration("chaos.serverErrorFraction", "must be within 0...1") }
        guard chaos.rateLimitRetryAfterSeconds >= 1 else { throw .configuration("chaos.rateLimitRetryAfterSeconds", "must be at least 1") }
        if let latency = chaos.latencyMilliseconds, latency.lowerBound < 0 || latency.upperBound > 60_000 {
            throw .configuration("chaos.latencyMilliseconds", "must be within 0...60000")
        }
        guard chaos.repeatAtBoundary >= 0 else { throw .configuration("chaos.repeatAtBoundary", "must not be negative") }
        guard defaultPageSize >= 1, maxPageSize >= defaultPageSize else {
            throw .configuration("defaultPageSize", "must be at least 1 and at most maxPageSize")
        }
        if let lifetime = syncTokenLifetimeSeconds, lifetime < 1 { throw .configuration("syncTokenLifetimeSeconds", "must be at least 1") }
        if let changes = syncTokenMaxChanges, changes < 0 { throw .configuration("syncTokenMaxChanges", "must not be negative") }
        guard eventRetentionSeconds >= 1 else { throw .configuration("eventRetentionSeconds", "must be at least 1") }
        guard maxRetainedEvents >= 1 else { throw .configuration("maxRetainedEvents", "must be at least 1") }
        try webhooks?.validate()
    }

    /// The id prefix of a record type: `cus`, `tkt`, or the type's first three letters.
    public static func idPrefix(for type: String) -> String {
        switch type {
        case "customer": return "cus"
        case "ticket": return "tkt"
        default: return String(type.prefix(3))
        }
    }
}

extension Int64 {
    /// Division rounding toward negative infinity.
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    /// Division rounding toward positive infinity.
    func ceilDivided(by divisor: Int64) -> Int64 {
        -((-self).floorDivided(by: divisor))
    }
}
