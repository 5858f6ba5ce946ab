/// A change waiting to be delivered as a webhook.
struct WebhookMessage: Sendable, Equatable {
    /// The event id; sent as `webhook-id`, identical on duplicates so receivers can deduplicate.
    let id: String
    /// `customer.updated` and so on.
    let type: String
    /// The change time, RFC 3339 at the configured granularity.
    let timestamp: String
    let recordText: String

    /// `{"type":"customer.updated","timestamp":"…","data":{record}}`.
    var body: String {
        #"{"type":"\#(type)","timestamp":"\#(timestamp)","data":\#(recordText)}"#
    }
}
