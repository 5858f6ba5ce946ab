import Foundation

/// Where the simulator reads the time it stamps records, events, tokens and rate-limit deadlines with.
///
/// Injected so tests control every time-dependent answer (equal `updated_at` values, token
/// expiry, `Retry-After` deadlines) without sleeping. Only data time comes from here: the
/// added latency chaos and the background mutation loop pace themselves on real time.
public protocol SimulatorClock: Sendable {
    /// Microseconds since the Unix epoch.
    func nowMicroseconds() -> Int64
}

/// The wall clock.
public struct SystemSimulatorClock: SimulatorClock {
    public init() {}

    public func nowMicroseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
    }
}
