/// Exponential backoff with full jitter, capped (AWS "full jitter"): the wait before retry
/// `attempt` is uniform in `[0, min(cap, base · 2^attempt)]`.
///
/// Full jitter spreads retries of many clients that failed together, which a fixed or
/// "equal jitter" schedule does not. The random source is passed in so tests are exact.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(300)) {
        self.base = base
        self.cap = cap
    }

    /// The ceiling of the jitter window for `attempt` (0-based).
    public func ceiling(attempt: Int) -> Duration {
        let shift = min(max(attempt, 0), 40)
        let raw = base * (1 << shift)
        return raw > cap || raw < base ? cap : raw
    }

    /// The wait before retry `attempt`, drawing from `random` (a value in `0..<1`).
    public func delay(attempt: Int, random: Double) -> Duration {
        ceiling(attempt: attempt) * min(max(random, 0), 0.999_999_999)
    }
}
