/// How a connection's webhooks are doing: when the last one arrived, and whether they went silent
/// while polls kept finding changes (the anomaly of a provider that stopped sending).
public struct WebhookFreshness: Sendable, Equatable {
    /// When the newest webhook event arrived (µs).
    public var lastReceivedAt: Int64
    /// Webhook events seen (by this service's watch, since it began counting).
    public var received: Int
    /// The record types webhooks delivered: only a poll's change of one of these can mean webhooks went quiet.
    public var recordTypes: [String]
    /// Set while webhooks are silent: the change a poll found that no webhook brought (its time, µs),
    /// and when the anomaly was raised. Cleared by the next webhook.
    public var silence: Silence?

    public struct Silence: Sendable, Equatable {
        public var changeAt: Int64
        public var detectedAt: Int64

        public init(changeAt: Int64, detectedAt: Int64) {
            self.changeAt = changeAt
            self.detectedAt = detectedAt
        }
    }

    public init(lastReceivedAt: Int64, received: Int, recordTypes: [String], silence: Silence? = nil) {
        self.lastReceivedAt = lastReceivedAt
        self.received = received
        self.recordTypes = recordTypes
        self.silence = silence
    }

    public var json: JSONValue {
        .object([
            ("last_received_at", .string(Timestamp.rfc3339(microseconds: lastReceivedAt))),
            ("received", .number(String(received))),
            ("silent", .bool(silence != nil)),
            ("unsent_change_at", silence.map { .string(Timestamp.rfc3339(microseconds: $0.changeAt)) } ?? .null),
            ("silence_detected_at", silence.map { .string(Timestamp.rfc3339(microseconds: $0.detectedAt)) } ?? .null),
        ])
    }
}

/// What the webhook watch reads of each new event (never its body).
public struct EventMark: Sendable, Equatable {
    public var seq: Int64
    public var connection: String
    public var source: EventSource
    public var recordType: String?
    /// The provider's time of the change, when the event says.
    public var occurredAt: Int64?
    public var receivedAt: Int64

    public init(seq: Int64, connection: String, source: EventSource, recordType: String?, occurredAt: Int64?, receivedAt: Int64) {
        self.seq = seq
        self.connection = connection
        self.source = source
        self.recordType = recordType
        self.occurredAt = occurredAt
        self.receivedAt = receivedAt
    }
}
