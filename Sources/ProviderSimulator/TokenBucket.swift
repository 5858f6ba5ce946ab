/// A token bucket on the simulator clock: `burst` capacity, refilled continuously at `rate` per second.
struct TokenBucket: Sendable, Equatable {
    let rate: Double
    let burst: Double
    private(set) var tokens: Double
    private(set) var updatedAt: Int64

    /// Tolerance for the float arithmetic of refills: a client that waits exactly the announced time must get in.
    static let epsilon = 1e-9

    init(rate: Double, burst: Int, now: Int64) {
        self.rate = rate
        self.burst = Double(burst)
        tokens = Double(burst)
        updatedAt = now
    }

    /// Adds what accrued since the last call (time never runs backwards for the bucket).
    mutating func refill(now: Int64) {
        guard now > updatedAt else { return }
        tokens = min(burst, tokens + Double(now - updatedAt) * rate / 1_000_000)
        updatedAt = now
    }

    /// Takes one token if there is one.
    mutating func take(now: Int64) -> Bool {
        refill(now: now)
        guard tokens >= 1 - Self.epsilon else { return false }
        tokens = max(0, tokens - 1)
        return true
    }

    /// Whole tokens left.
    var remaining: Int { Int((tokens + Self.epsilon).rounded(.down)) }

    /// Microseconds until one token is available (0 if one is).
    var microsUntilNextToken: Int64 {
        tokens >= 1 - Self.epsilon ? 0 : Int64(((1 - tokens) / rate * 1_000_000).rounded(.up))
    }

    /// Microseconds until the bucket is full again.
    var microsUntilFull: Int64 {
        Int64(((burst - tokens) / rate * 1_000_000).rounded(.up))
    }
}
