/// A seeded pseudo-random generator (SplitMix64) whose sequence never changes between platforms or releases.
///
/// The simulator must replay exactly for a given seed, so it does not use the standard
/// library's generators or its `random(in:using:)` helpers, whose algorithms may change.
/// Every draw goes through ``next()``, ``next(below:)`` or ``nextUnit()``, all defined here.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state; the next output is a function of it alone.
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits (Steele, Lea and Flood's SplitMix64 finaliser).
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` by multiply-high (Lemire), without a retry loop so that every call consumes one draw.
    ///
    /// - Important: `bound` must be positive.
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A value in `[0, 1)` with 53 random bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// `true` with probability `probability`; always consumes one draw, so that a zero rate keeps later draws aligned.
    public mutating func chance(_ probability: Double) -> Bool {
        nextUnit() < probability
    }

    /// An independent generator for another purpose, derived from this one's next output.
    public mutating func split() -> SplitMix64 {
        SplitMix64(seed: next())
    }
}
