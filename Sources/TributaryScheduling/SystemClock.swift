import Foundation
public import TributaryCore

extension EngineClock {
    /// The system's wall clock and `Task.sleep`: the only place the engine reads real time.
    public static let system = EngineClock(
        now: { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) },
        sleep: { try await Task.sleep(for: $0) }
    )
}
