/// One connection's request budget: a token bucket from the manifest, corrected by what the provider says.
///
/// Pure value, clock passed in (µs since the epoch). The limiter that callers await
/// (``TributaryUpstream``) owns one of these per connection and only executes its answers.
/// Rules:
/// - a provider's `Retry-After` (or an exhausted quota with a reset time) blocks every request
///   until then — sending earlier is the "hammering" DESIGN.md §3 rule 8 forbids;
/// - a provider's `remaining` can only lower our local count, never raise it (it may be shared
///   with other clients of the same credential);
/// - a 429 with no timing at all blocks for an exponential backoff with full jitter, capped,
///   growing with consecutive throttles and reset by the next success.
public struct RateLimitBudget: Sendable, Equatable {
    public private(set) var capacity: Double
    public private(set) var refillPerSecond: Double
    public private(set) var tokens: Double
    public private(set) var updatedAt: Int64
    /// No request may be sent before this instant (µs).
    public private(set) var blockedUntil: Int64
    public private(set) var consecutiveThrottles: Int
    public let backoff: Backoff
    /// Added to every provider-given wait: HTTP dates and delta seconds have one-second resolution.
    public let safetyMargin: Int64

    public init(capacity: Double, refillPerSecond: Double, now: Int64, backoff: Backoff = Backoff(base: .seconds(1), cap: .seconds(120)), safetyMargin: Int64 = 50_000) {
        self.capacity = max(1, capacity)
        self.refillPerSecond = max(0.001, refillPerSecond)
        tokens = self.capacity
        updatedAt = now
        blockedUntil = now
        consecutiveThrottles = 0
        self.backoff = backoff
        self.safetyMargin = safetyMargin
    }

    /// Takes one token if a request may go now; otherwise returns the instant (µs) to ask again.
    public mutating func take(now: Int64) -> Int64? {
        refill(now: now)
        if now < blockedUntil { return blockedUntil }
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        let missing = 1 - tokens
        // Capped at a day before converting: the refill rate comes from the provider's headers.
        let seconds = min(missing / refillPerSecond, Double(RateLimitSignals.maxWaitSeconds))
        return now + Int64((seconds * 1_000_000).rounded(.up))
    }

    /// Applies what a response said.
    /// - Parameter random: a value in `0..<1` for the jitter of a timing-less 429.
    public mutating func observe(status: Int, signals: RateLimitSignals, now: Int64, random: Double) {
        refill(now: now)
        if let quota = signals.quota, quota > 0 {
            capacity = Double(quota)
            // The same floor as at init: a window of Int64.max seconds must not make the rate zero.
            if let window = signals.windowSeconds, window > 0 { refillPerSecond = max(0.001, Double(quota) / Double(window)) }
            tokens = min(tokens, capacity)
        }
        if let remaining = signals.remaining { tokens = min(tokens, Double(max(0, remaining))) }
        if let until = signals.waitUntil {
            blockedUntil = max(blockedUntil, until + safetyMargin)
            tokens = 0
        }
        if status == 429 {
            consecutiveThrottles += 1
            if signals.waitUntil == nil {
                let delay = backoff.delay(attempt: consecutiveThrottles - 1, random: random)
                blockedUntil = max(blockedUntil, now + delay.microseconds)
                tokens = 0
            }
        } else if (200..<300).contains(status) || status == 304 {
            consecutiveThrottles = 0
        }
    }

    mutating func refill(now: Int64) {
        guard now > updatedAt else { return }
        tokens = min(capacity, tokens + Double(now - updatedAt) / 1_000_000 * refillPerSecond)
        updatedAt = now
    }
}

/// Who is asking for the budget. Higher runs first when several callers wait (DESIGN.md §3 rule 8).
public enum RequestPriority: Int, Sendable, Comparable, CaseIterable {
    case sweep = 0, backfill = 1, incrementalPoll = 2, webhookFollowUp = 3

    public static func < (lhs: RequestPriority, rhs: RequestPriority) -> Bool { lhs.rawValue < rhs.rawValue }
}
