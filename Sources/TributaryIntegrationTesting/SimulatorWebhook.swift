import TributaryDelivery

/// A delivery as the simulator provider sends it (Standard Webhooks), built by a test that drives
/// intake itself instead of running the simulator.
public enum SimulatorWebhook {
    /// `customer.updated` of customer `id` at `version`, signed with `secret` at `now` (µs).
    public static func customerUpdated(_ id: String, version: Int, now: Int64, secret: String = ChaosRig.secret) -> (headers: [String: String], body: String) {
        let body = #"{"type":"customer.updated","timestamp":"2026-12-07T10:00:00Z","data":{"id":"\#(id)","version":\#(version),"name":"n\#(version)"}}"#
        let webhookID = "evt_\(id)_\(version)"
        let timestamp = now / 1_000_000
        return ([
            "Content-Type": "application/json", "webhook-id": webhookID, "webhook-timestamp": String(timestamp),
            "webhook-signature": StandardWebhooks.signature(id: webhookID, timestamp: timestamp, body: Array(body.utf8), secrets: [secret]),
        ], body)
    }
}
