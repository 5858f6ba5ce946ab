/// How many generated changes are due after some real time has passed at a given rate.
///
/// Keeps the fractional remainder between ticks so that 2.5 changes per tick come out as
/// 2, 3, 2, 3…, and caps one tick's catch-up at one second's worth so that a stalled loop
/// does not answer with a burst of thousands.
struct MutationPacer: Sendable {
    private var carry = 0.0

    /// The real-time tick for `rate`: one change per tick up to 100/s, then 10 ms ticks with several changes each.
    static func tick(rate: Double) -> Duration {
        .microseconds(Int64((1_000_000 / rate).rounded().clamped(to: 10_000...1_000_000)))
    }

    /// Changes due after `elapsedSeconds` at `rate` per second.
    mutating func due(rate: Double, elapsedSeconds: Double) -> Int {
        let exact = carry + rate * min(max(0, elapsedSeconds), 1)
        let whole = exact.rounded(.down)
        carry = exact - whole
        return Int(whole)
    }

    mutating func reset() {
        carry = 0
    }
}

extension Comparable {
    fileprivate func clamped(to range: ClosedRange<Self>) -> Self {
        min(max(self, range.lowerBound), range.upperBound)
    }
}
