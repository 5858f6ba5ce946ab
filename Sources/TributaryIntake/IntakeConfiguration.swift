/// Settings for the webhook intake routes.
///
/// - Configuration keys (CLI flag / environment):
///   - `maxBodyBytes` (`--max-body`, `TRIBUTARY_MAX_BODY`, default 1 MiB): larger bodies are refused with 413.
///   - `bodyTimeout` (`--body-timeout`, `TRIBUTARY_BODY_TIMEOUT`, default 10 s): a body not fully received in this time is answered 408.
///   - `publicBaseURL` (`--public-url`, `TRIBUTARY_PUBLIC_URL`): the scheme and authority providers call, e.g.
///     `https://hooks.example.com`; URL-covering signatures (Twilio, Square, HubSpot) are checked against it.
///     Unset, it is `http://` plus the request's `Host` header.
public struct IntakeConfiguration: Sendable {
    public var maxBodyBytes: Int
    public var bodyTimeout: Duration
    public var publicBaseURL: String?

    public init(maxBodyBytes: Int = 1 << 20, bodyTimeout: Duration = .seconds(10), publicBaseURL: String? = nil) {
        self.maxBodyBytes = maxBodyBytes
        self.bodyTimeout = bodyTimeout
        self.publicBaseURL = publicBaseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }
}
