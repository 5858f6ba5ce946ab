import TributaryCore
/// Decides, per authenticated request, whether it is served, rate-limited or failed, and with which headers.
///
/// A pure state machine over the simulator clock: per-token buckets, per-token "told to
/// wait until" deadlines, the chaos draws and the request counters. The routes execute its
/// decisions; tests drive it directly with chosen times.
///
/// Order of checks: a request arriving before its token's last `Retry-After` deadline is
/// counted as a **violation** (and otherwise handled normally); then a chaos 429; then the
/// bucket; then a chaos 5xx (the bucket has already charged for it, as real providers do).
struct TrafficGate: Sendable {
    struct Counters: Sendable, Equatable {
        /// Every request to `/v1`, including refused ones.
        var requests = 0
        var unauthorized = 0
        /// Every 429 sent, chaos ones included.
        var rateLimited = 0
        /// The 429s sent by chaos while the bucket had room.
        var chaosRateLimited = 0
        var serverErrors = 0
        /// Requests that arrived before the `Retry-After` deadline their token was last given. A client that honours
        /// rate limits scores 0.
        var violations = 0
    }

    struct Decision: Sendable {
        enum Outcome: Sendable, Equatable {
            case serve
            case rateLimited(chaos: Bool)
            case serverError(status: Int)
        }

        var outcome: Outcome
        /// Rate-limit headers (on every answer when a limit is configured) and `Retry-After` on 429s.
        var headers: [(name: String, value: String)]
        /// Real time to wait before answering.
        var latencyMicros: Int64
    }

    let rateLimit: SimulatorConfiguration.RateLimit?
    let chaos: SimulatorConfiguration.Chaos
    let retryAfterFormat: SimulatorConfiguration.RetryAfterFormat
    let resetFormat: SimulatorConfiguration.ResetFormat
    private(set) var counters = Counters()
    private var buckets: [String: TokenBucket] = [:]
    private var waitUntil: [String: Int64] = [:]
    private var random: SplitMix64
    private var nextRetryAfterIsDate = false

    init(configuration: SimulatorConfiguration, random: SplitMix64) {
        rateLimit = configuration.rateLimit
        chaos = configuration.chaos
        retryAfterFormat = configuration.retryAfterFormat
        resetFormat = configuration.resetFormat
        self.random = random
    }

    mutating func resetCounters() {
        counters = Counters()
    }

    /// Counts a request that carried no valid token.
    mutating func refuseUnauthorized() {
        counters.requests += 1
        counters.unauthorized += 1
    }

    /// The decision for a request with a valid `token` arriving at `now`.
    mutating func admit(token: String, now: Int64) -> Decision {
        counters.requests += 1
        if let deadline = waitUntil[token], now < deadline { counters.violations += 1 }
        var latency: Int64 = 0
        if let range = chaos.latencyMilliseconds {
            let millis = range.lowerBound == range.upperBound
                ? range.lowerBound : range.lowerBound + random.next(below: range.upperBound - range.lowerBound + 1)
            latency = Int64(millis) * 1_000
        }
        var bucket = rateLimit.map { limit in
            buckets[token] ?? TokenBucket(rate: limit.requestsPerSecond, burst: limit.burst, now: now)
        }
        bucket?.refill(now: now)
        defer { if let bucket { buckets[token] = bucket } }

        if chaos.rateLimitFraction > 0, random.chance(chaos.rateLimitFraction) {
            counters.rateLimited += 1
            counters.chaosRateLimited += 1
            var headers = bucket.map { limitHeaders($0, now: now) } ?? []
            headers.append(retryAfter(waitMicros: Int64(chaos.rateLimitRetryAfterSeconds) * 1_000_000, token: token, now: now))
            return Decision(outcome: .rateLimited(chaos: true), headers: headers, latencyMicros: latency)
        }
        if bucket != nil, !bucket!.take(now: now) {
            counters.rateLimited += 1
            var headers = limitHeaders(bucket!, now: now)
            headers.append(retryAfter(waitMicros: bucket!.microsUntilNextToken, token: token, now: now))
            return Decision(outcome: .rateLimited(chaos: false), headers: headers, latencyMicros: latency)
        }
        let headers = bucket.map { limitHeaders($0, now: now) } ?? []
        if chaos.serverErrorFraction > 0, random.chance(chaos.serverErrorFraction) {
            counters.serverErrors += 1
            let status = random.next(below: 2) == 0 ? 500 : 503
            return Decision(outcome: .serverError(status: status), headers: headers, latencyMicros: latency)
        }
        return Decision(outcome: .serve, headers: headers, latencyMicros: latency)
    }

    /// `Retry-After` in the configured form, and the deadline it sets for `token`.
    ///
    /// Seconds are rounded up (at least 1); an HTTP-date names the first whole second at or after
    /// the earliest allowed time. Either way the recorded deadline is exactly what the header says.
    private mutating func retryAfter(waitMicros: Int64, token: String, now: Int64) -> (name: String, value: String) {
        let useDate: Bool
        switch retryAfterFormat {
        case .seconds: useDate = false
        case .httpDate: useDate = true
        case .alternate:
            useDate = nextRetryAfterIsDate
            nextRetryAfterIsDate.toggle()
        }
        if useDate {
            var deadline = (now + waitMicros).ceilDivided(by: 1_000_000) * 1_000_000
            if deadline <= now { deadline += 1_000_000 }
            waitUntil[token] = deadline
            return ("Retry-After", SimulatorTime.httpDate(deadline))
        }
        let seconds = max(1, waitMicros.ceilDivided(by: 1_000_000))
        waitUntil[token] = now + seconds * 1_000_000
        return ("Retry-After", String(seconds))
    }

    /// `X-RateLimit-*` and the IETF `RateLimit-Policy` / `RateLimit` fields for the bucket as it stands.
    ///
    /// The reset is when the bucket is full again; the policy window `w` is the time to refill from empty.
    private func limitHeaders(_ bucket: TokenBucket, now: Int64) -> [(name: String, value: String)] {
        let remaining = bucket.remaining
        let resetMicros = bucket.microsUntilFull
        let resetDelta = resetMicros.ceilDivided(by: 1_000_000)
        let window = max(1, Int64((bucket.burst / bucket.rate).rounded(.up)))
        let reset = resetFormat == .epoch ? (now + resetMicros).ceilDivided(by: 1_000_000) : resetDelta
        return [
            ("X-RateLimit-Limit", String(Int(bucket.burst))),
            ("X-RateLimit-Remaining", String(remaining)),
            ("X-RateLimit-Reset", String(reset)),
            ("RateLimit-Policy", "\"default\";q=\(Int(bucket.burst));w=\(window)"),
            ("RateLimit", "\"default\";r=\(remaining);t=\(resetDelta)"),
        ]
    }
}
