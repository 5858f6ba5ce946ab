import Synchronization

/// A clock that moves only when told to, for tests.
public final class ManualSimulatorClock: SimulatorClock {
    private let micros: Mutex<Int64>

    /// - Parameter microseconds: the starting time, microseconds since the epoch (default 2026-11-20T10:00:00Z).
    public init(microseconds: Int64 = 1_795_168_800_000_000) {
        micros = Mutex(microseconds)
    }

    public func nowMicroseconds() -> Int64 {
        micros.withLock { $0 }
    }

    /// Moves the clock forward (or back, with a negative amount).
    public func advance(microseconds delta: Int64) {
        micros.withLock { $0 += delta }
    }

    /// Moves the clock forward by whole seconds.
    public func advance(seconds: Int64) {
        advance(microseconds: seconds * 1_000_000)
    }

    /// Sets the clock.
    public func set(microseconds: Int64) {
        micros.withLock { $0 = microseconds }
    }
}
