public import TributaryCore

/// What `GET /_sim/counters` reports: traffic, changes made, webhooks sent.
///
/// `POST /_sim/reset-counters` zeroes traffic and webhook counters; the change totals
/// describe the data itself and are never reset.
public struct SimulatorCounters: Sendable, Equatable {
    /// Requests to `/v1`, refused ones included.
    public var requests = 0
    /// Requests without a valid bearer token (401).
    public var unauthorized = 0
    /// 429 answers, chaos ones included.
    public var rateLimited = 0
    /// 429 answers sent by chaos although the bucket had room.
    public var chaosRateLimited = 0
    /// 500/503 answers sent by chaos.
    public var serverErrors = 0
    /// Requests sent before the `Retry-After` deadline of their token's last 429. Must stay 0 for a correct client.
    public var violations = 0
    public var created = 0
    public var updated = 0
    public var deleted = 0
    /// Webhook POSTs attempted (duplicates included).
    public var webhooksSent = 0
    /// Webhook POSTs answered 2xx.
    public var webhooksDelivered = 0
    /// Webhook POSTs that failed or were answered otherwise; not retried.
    public var webhooksFailed = 0
    /// Changes whose webhook chaos dropped.
    public var webhooksDropped = 0
    /// Changes whose webhook chaos sent twice.
    public var webhooksDuplicated = 0
    /// Changes not delivered because the outbox was full.
    public var webhooksOverflowed = 0

    public init() {}

    /// All changes made, initial records included.
    public var changes: Int { created + updated + deleted }

    public var json: JSONValue {
        func n(_ value: Int) -> JSONValue { .number(String(value)) }
        return .object([
            ("requests", n(requests)), ("unauthorized", n(unauthorized)), ("rate_limited", n(rateLimited)),
            ("chaos_rate_limited", n(chaosRateLimited)), ("server_errors", n(serverErrors)), ("violations", n(violations)),
            ("created", n(created)), ("updated", n(updated)), ("deleted", n(deleted)),
            ("webhooks_sent", n(webhooksSent)), ("webhooks_delivered", n(webhooksDelivered)), ("webhooks_failed", n(webhooksFailed)),
            ("webhooks_dropped", n(webhooksDropped)), ("webhooks_duplicated", n(webhooksDuplicated)),
            ("webhooks_overflowed", n(webhooksOverflowed)),
        ])
    }
}
