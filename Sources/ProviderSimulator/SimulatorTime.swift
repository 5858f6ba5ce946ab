import TributaryCore

/// Time formats the simulator writes: RFC 3339 at the configured granularity and the HTTP-date of `Retry-After`.
public enum SimulatorTime {
    /// `2026-11-20T10:00:00Z` for seconds; `2026-11-20T10:00:00.123Z` (always three digits) for milliseconds.
    public static func rfc3339(_ micros: Int64, granularity: SimulatorConfiguration.Granularity) -> String {
        let seconds = micros.floorDivided(by: 1_000_000)
        let whole = Timestamp.rfc3339(microseconds: seconds * 1_000_000)
        switch granularity {
        case .seconds:
            return whole
        case .milliseconds:
            let millis = (micros - seconds * 1_000_000) / 1_000
            let digits = String(millis)
            return String(whole.dropLast()) + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
        }
    }

    /// An IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`, for the whole second at or before `micros`.
    public static func httpDate(_ micros: Int64) -> String {
        let seconds = micros.floorDivided(by: 1_000_000)
        let text = Array(Timestamp.rfc3339(microseconds: seconds * 1_000_000).utf8)
        // `YYYY-MM-DDTHH:MM:SSZ`
        let year = String(decoding: text[0..<4], as: UTF8.self)
        let month = Int(String(decoding: text[5..<7], as: UTF8.self)) ?? 1
        let day = String(decoding: text[8..<10], as: UTF8.self)
        let time = String(decoding: text[11..<19], as: UTF8.self)
        let days = seconds.floorDivided(by: 86_400)
        let weekday = Int((days + 4) - (days + 4).floorDivided(by: 7) * 7)
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(weekdays[weekday]), \(day) \(months[month - 1]) \(year) \(time) GMT"
    }
}
