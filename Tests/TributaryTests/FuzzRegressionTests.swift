import Testing
import TributaryCore

/// Inputs on which a fuzz target (Fuzz/, `scripts/fuzz.sh`) found a trap, replayed through the
/// library call that trapped. Each runs in a child process (an exit test), so a trap that comes back
/// fails its test instead of ending the whole test run. The raw inputs are kept in Fuzz/Regressions/.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    /// fuzz-cursor, Fuzz/Regressions/cursor/rfc3339-below-int64-min-seconds.json: a page item whose
    /// updatedAt is near Int64.min becomes the run's `since`, and formatting the next request's
    /// `since` traps at `seconds * 1_000_000` (Timestamp.swift:61).
    @Test("RFC 3339 formatting of the smallest microsecond values does not trap")
    func rfc3339OfSmallestValues() async {
        await #expect(processExitsWith: .success) {
            _ = Timestamp.rfc3339(microseconds: .min)
            _ = Timestamp.rfc3339(microseconds: -9_223_372_036_854_000_001)
        }
    }
}
