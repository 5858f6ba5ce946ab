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

    /// Fuzz/Regressions/cursor/begin-watermark-int64-min.json: a stored cursor `{"watermark": Int64.min}`
    /// trapped beginning a run of a resource with lookback (`$0 - lookback`); main now saturates it.
    @Test("Beginning a run from a watermark at Int64.min does not trap")
    func beginFromSmallestWatermark() async {
        await #expect(processExitsWith: .success) {
            let machine = CursorMachine(kind: .timestamp, lookback: 1_000_000)
            _ = machine.begin(PollCursor(watermark: .min), now: 1_795_000_000_000_000)
        }
    }

    /// Fuzz/Regressions/cursor/advance-pages-int-max.json: a stored run with `pages` at Int.max traps
    /// moving past the next page (`run.pages += 1`, PollCursor.swift:186); `windowPages` at Int.max
    /// likewise traps in the result-cap check `(run.windowPages + 1) * pageSize` (line 217).
    @Test("Advancing a stored run whose page count is Int.max does not trap")
    func advanceFromLargestPageCount() async {
        await #expect(processExitsWith: .success) {
            var run = PollCursor.Run(startedAt: 0, horizon: 0, since: nil)
            run.pages = .max
            let machine = CursorMachine(kind: .timestamp)
            _ = machine.advance(PollCursor(run: run), page: PageOutcome(items: [], hasMore: false))
        }
    }
}
