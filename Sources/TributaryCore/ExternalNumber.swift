/// The one checked path from a number that came from outside (a body, a header, a page, a fetch,
/// a manifest) to an `Int64`.
///
/// Why: `Int64(someDouble)` and `*` trap on overflow, and a trap in `serve` is a crash loop, since
/// the provider retries the same delivery. Every conversion of an outside value goes through here,
/// and a value that does not fit is an ``Invalid`` with a reason, never a trap.
public enum ExternalNumber {
    /// Why a number from outside was refused.
    public enum Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        /// Not a decimal number at all (`"abc"`, `"0x10"`, `"nan"`).
        case notANumber(String)
        /// A number, but outside the range the value may take (including ±inf and overflow).
        case outOfRange(String)

        public var description: String {
            switch self {
            case .notANumber(let text): return "\"\(Self.clip(text))\" is not a number"
            case .outOfRange(let text): return "\(Self.clip(text)) is out of range"
            }
        }

        static func clip(_ text: String) -> String { text.count > 40 ? String(text.prefix(40)) + "…" : text }
    }

    /// Unix seconds from year 1 to year 9999: the span every time Tributary stores must fall in.
    public static let secondsRange: ClosedRange<Int64> = -62_135_596_800...253_402_300_799
    /// The same span in microseconds.
    public static let microsecondsRange: ClosedRange<Int64> = secondsRange.lowerBound * 1_000_000...secondsRange.upperBound * 1_000_000

    /// `text` (a JSON-style decimal: `-12`, `1.5`, `1e3`) times `scale`, rounded to the nearest integer.
    ///
    /// Integers are scaled exactly; fractions and exponents go through `Double` only after the
    /// text was checked to be a plain decimal (Swift's `Double(String)` also reads `nan`, `inf`
    /// and hex, none of which is a timestamp).
    /// - Returns: the value, or why it was refused (not a number; outside `range`, overflow, ±inf).
    public static func scaled(_ text: String, by scale: Int64, within range: ClosedRange<Int64>) -> Result<Int64, Invalid> {
        if let whole = Int64(text) {
            let (product, overflow) = whole.multipliedReportingOverflow(by: scale)
            guard !overflow, range.contains(product) else { return .failure(.outOfRange(text)) }
            return .success(product)
        }
        guard isDecimal(text), let value = Double(text) else {
            if isDecimalInteger(text) { return .failure(.outOfRange(text)) }  // digits beyond Int64
            return .failure(.notANumber(text))
        }
        let product = value * Double(scale)
        // Doubles compared against the bounds before any conversion: `Int64(_: Double)` traps outside ±2^63.
        guard product.isFinite, product >= Double(range.lowerBound), product <= Double(range.upperBound) else {
            return .failure(.outOfRange(text))
        }
        let rounded = product.rounded()
        guard let exact = Int64(exactly: rounded), range.contains(exact) else { return .failure(.outOfRange(text)) }
        return .success(exact)
    }

    /// An integer in `range`; fractions and anything else are refused.
    public static func integer(_ text: String, within range: ClosedRange<Int64> = Int64.min...Int64.max) -> Result<Int64, Invalid> {
        if let value = Int64(text) {
            return range.contains(value) ? .success(value) : .failure(.outOfRange(text))
        }
        return isDecimalInteger(text) ? .failure(.outOfRange(text)) : .failure(.notANumber(text))
    }

    /// Whether `text` is a decimal number as JSON writes one (sign, digits, fraction, exponent).
    static func isDecimal(_ text: String) -> Bool {
        var sawDigit = false
        var sawExponent = false
        var previous: UInt8 = 0
        for (i, b) in text.utf8.enumerated() {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sawDigit = true
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                guard i == 0 && b == UInt8(ascii: "-") || previous == UInt8(ascii: "e") || previous == UInt8(ascii: "E") else { return false }
            case UInt8(ascii: "."): guard !sawExponent, sawDigit else { return false }
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                guard !sawExponent, sawDigit else { return false }
                sawExponent = true
            default: return false
            }
            previous = b
        }
        return sawDigit && previous >= UInt8(ascii: "0") && previous <= UInt8(ascii: "9")
    }

    static func isDecimalInteger(_ text: String) -> Bool {
        let digits = text.utf8.first == UInt8(ascii: "-") ? text.utf8.dropFirst() : text.utf8[...]
        return !digits.isEmpty && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}
