/// Settings for the webhook intake routes.
///
/// - Configuration keys (CLI flag / environment):
///   - `maxBodyBytes` (`--max-body`, `TRIBUTARY_MAX_BODY`, default 1 MiB): larger bodies are refused with 413.
///   - `bodyTimeout` (`--body-timeout`, `TRIBUTARY_BODY_TIMEOUT`, default 10 s): a body not fully received in this time is answered 408.
///   - `publicBaseURL` (`--public-url`, `TRIBUTARY_PUBLIC_URL`): the scheme and authority providers call, e.g.
///     `https://hooks.example.com`; URL-covering signatures (Twilio, Square, HubSpot) are checked against it.
///     Unset, it is `http://` plus the request's `Host` header.
///   - `connectionCacheTTL` (default 1 s): how long a connection and its secrets are reused between
///     requests. Changes made by this process apply at once; a secret rotated by the CLI in another
///     process applies within this time.
public struct IntakeConfiguration: Sendable {
    public var maxBodyBytes: Int
    public var bodyTimeout: Duration
    public var publicBaseURL: String?
    public var connectionCacheTTL: Duration

    public init(
        maxBodyBytes: Int = 1 << 20, bodyTimeout: Duration = .seconds(10), publicBaseURL: String? = nil,
        connectionCacheTTL: Duration = .seconds(1)
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.bodyTimeout = bodyTimeout
        self.connectionCacheTTL = connectionCacheTTL
        self.publicBaseURL = publicBaseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }
}
