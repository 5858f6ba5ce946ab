/// The engine's one clock, injected into everything that reads the time or waits: the wall time
/// in microseconds since the Unix epoch, and a wait that ends early only when its task is cancelled
/// (it then throws `CancellationError`).
///
/// Core holds only the shape and reads no clock: the system clock is `EngineClock.system`
/// (TributaryScheduling); tests drive a manual one, so a retry's backoff, a rate limiter's wait
/// and a scheduler's tick all move when the test moves time.
public struct EngineClock: Sendable {
    /// Microseconds since the Unix epoch.
    public let now: @Sendable () -> Int64
    /// Waits `duration` on this clock.
    public let sleep: @Sendable (Duration) async throws -> Void

    public init(now: @escaping @Sendable () -> Int64, sleep: @escaping @Sendable (Duration) async throws -> Void) {
        self.now = now
        self.sleep = sleep
    }

    /// The same waits, reading the time from `now` instead (a test's fixed instant).
    public func reading(_ now: @escaping @Sendable () -> Int64) -> EngineClock {
        EngineClock(now: now, sleep: sleep)
    }
}

extension Duration {
    /// Whole microseconds, the engine's unit of wall time (saturating at the ends of Int64).
    public var microseconds: Int64 {
        let (scaled, overflow) = components.seconds.multipliedReportingOverflow(by: 1_000_000)
        if overflow { return components.seconds < 0 ? .min : .max }
        let (sum, carried) = scaled.addingReportingOverflow(components.attoseconds / 1_000_000_000_000)
        return carried ? (scaled < 0 ? .min : .max) : sum
    }
}
