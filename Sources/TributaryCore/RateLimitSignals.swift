/// What a provider's response says about its rate limit, parsed from headers.
///
/// Providers disagree on the form: `Retry-After` is delay-seconds or an HTTP-date
/// (RFC 9110); `X-RateLimit-Reset` is epoch seconds at GitHub but delta seconds in the
/// IETF drafts; the IETF `RateLimit`/`RateLimit-Policy` fields carry remaining,
/// reset and quota as structured parameters; Shopify reports `used/limit`. All times
/// come out as absolute microseconds on the caller's clock.
public struct RateLimitSignals: Sendable, Equatable {
    /// The provider asked us to wait until this instant (µs), from `Retry-After` or an exhausted quota.
    public var waitUntil: Int64?
    /// Requests left in the current window, if the provider said.
    public var remaining: Int?
    /// When the current window resets (µs), if the provider said.
    public var resetAt: Int64?
    /// The quota: this many requests per `windowSeconds` (IETF `RateLimit-Policy`, Shopify bucket size).
    public var quota: Int?
    public var windowSeconds: Int?

    public init(waitUntil: Int64? = nil, remaining: Int? = nil, resetAt: Int64? = nil, quota: Int? = nil, windowSeconds: Int? = nil) {
        self.waitUntil = waitUntil
        self.remaining = remaining
        self.resetAt = resetAt
        self.quota = quota
        self.windowSeconds = windowSeconds
    }

    /// Reads the signals from response headers (names matched case-insensitively).
    /// - Parameters:
    ///   - status: the HTTP status; 429 and 503 without any timing header still mean "wait".
    ///   - header: looks up a header value by name.
    ///   - names: which provider-specific headers to read (the manifest's).
    ///   - now: the current time, µs since the epoch.
    public static func parse(
        status: Int, header: (String) -> String?, names: HeaderNames = HeaderNames(), now: Int64
    ) -> RateLimitSignals {
        var signals = RateLimitSignals()
        if let text = header("RateLimit-Policy"), let policy = StructuredParameters.first(text) {
            signals.quota = policy["q"].flatMap { Int($0) }
            signals.windowSeconds = policy["w"].flatMap { Int($0) }
        }
        if let text = header("RateLimit"), let limit = StructuredParameters.first(text) {
            signals.remaining = limit["r"].flatMap { Int($0) }
            signals.resetAt = limit["t"].flatMap { Int64($0) }.map { now + min(max(0, $0), maxWaitSeconds) * 1_000_000 }
        }
        if let name = names.remaining, let text = header(name), let value = Int(text.trimmingSpaces) {
            signals.remaining = value
        }
        if let name = names.reset, let text = header(name), let value = Int64(text.trimmingSpaces) {
            signals.resetAt = resetInstant(value, now: now)
        }
        if let name = names.callLimit, let text = header(name) {
            let parts = text.split(separator: "/")
            if parts.count == 2, let used = Int(parts[0].trimmingSpaces), let limit = Int(parts[1].trimmingSpaces), used >= 0, limit > 0 {
                signals.remaining = used < limit ? limit - used : 0
                signals.quota = limit
            }
        }
        if let text = header("Retry-After"), let until = retryAfter(text, now: now) {
            signals.waitUntil = until
        } else if signals.remaining == 0, let reset = signals.resetAt {
            signals.waitUntil = reset
        }
        if signals.waitUntil == nil, status == 429 {
            signals.waitUntil = signals.resetAt
        }
        return signals
    }

    /// Which provider-specific headers carry the budget (IETF fields and `Retry-After` are always read).
    public struct HeaderNames: Sendable, Equatable {
        public var remaining: String?
        public var reset: String?
        public var callLimit: String?

        public init(remaining: String? = "X-RateLimit-Remaining", reset: String? = "X-RateLimit-Reset", callLimit: String? = nil) {
            self.remaining = remaining
            self.reset = reset
            self.callLimit = callLimit
        }
    }

    /// `Retry-After` as delay-seconds or an HTTP-date (IMF-fixdate), as an instant in µs.
    public static func retryAfter(_ text: String, now: Int64) -> Int64? {
        let trimmed = text.trimmingSpaces
        if let seconds = Int64(trimmed) { return now + min(max(0, seconds), maxWaitSeconds) * 1_000_000 }
        return HTTPDate.microseconds(trimmed).map { min($0, now + maxWaitSeconds * 1_000_000) }
    }

    /// No provider-given wait is taken as longer than a day: larger values are read as a day, so a
    /// hostile or broken header can neither overflow the arithmetic nor park a connection for years.
    public static let maxWaitSeconds: Int64 = 86_400

    /// A reset value as an instant: epoch milliseconds, epoch seconds, or delta seconds.
    ///
    /// GitHub sends epoch seconds, the IETF drafts delta seconds. No delta is anywhere near
    /// 10^9 s (31 years) and no epoch is below it, so the magnitude decides.
    public static func resetInstant(_ value: Int64, now: Int64) -> Int64 {
        let cap = now + maxWaitSeconds * 1_000_000
        if value >= 1_000_000_000_000 { return min(value / 1000, cap / 1_000_000) * 1_000_000 }
        if value >= 1_000_000_000 { return min(value, cap / 1_000_000) * 1_000_000 }
        return now + max(0, value) * 1_000_000
    }
}

/// The parameters of the first member of a Structured Field list: `"default";r=50;t=30`.
enum StructuredParameters {
    static func first(_ text: String) -> [String: String]? {
        guard let member = text.split(separator: ",").first else { return nil }
        var parameters: [String: String] = [:]
        for part in member.split(separator: ";").dropFirst() {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            parameters[kv[0].trimmingSpaces] = kv[1].trimmingSpaces.trimmingCharacters(in: "\"")
        }
        return parameters
    }
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the HTTP-date form providers send.
public enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    public static func microseconds(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int64(parts[1]), (1...31).contains(day),
              let monthIndex = months.firstIndex(of: String(parts[2])), let year = Int64(parts[3]), (1970...9999).contains(year) else { return nil }
        let time = parts[4].split(separator: ":")
        guard time.count == 3, let h = Int64(time[0]), let m = Int64(time[1]), let s = Int64(time[2]), h < 24, m < 60, s < 61 else { return nil }
        let days = Timestamp.daysFromCivil(year: year, month: Int64(monthIndex + 1), day: day)
        return (days * 86_400 + h * 3600 + m * 60 + s) * 1_000_000
    }

    public static func format(microseconds: Int64) -> String {
        let seconds = microseconds.floorDiv(1_000_000)
        let days = seconds.floorDiv(86_400)
        let secondOfDay = seconds - days * 86_400
        let (y, m, d) = Timestamp.civilFromDays(days)
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        func pad(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(weekday), \(pad(d)) \(months[Int(m - 1)]) \(y) \(pad(secondOfDay / 3600)):\(pad(secondOfDay % 3600 / 60)):\(pad(secondOfDay % 60)) GMT"
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }

    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
