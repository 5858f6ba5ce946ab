import Foundation
import PostgresNIO
public import TributaryCore
public import TributaryStore

/// Webhook freshness on PostgreSQL (``FreshnessStore``).
extension PostgresStore: FreshnessStore {
    public func webhookFreshness() async throws(StoreError) -> [String: WebhookFreshness] {
        try await readValue { client, logger in
            var found: [String: WebhookFreshness] = [:]
            let rows = try await client.query("""
                SELECT connection, last_received_at, received, record_types, silence_change_at, silence_detected_at FROM webhook_freshness
                """, logger: logger)
            for try await (connection, last, received, types, changeAt, detectedAt) in rows.decode((String, Int64, Int64, String, Int64?, Int64?).self) {
                let recordTypes = (try? JSONDecoder().decode([String].self, from: Data(types.utf8))) ?? []
                found[connection] = WebhookFreshness(
                    lastReceivedAt: last, received: Int(received), recordTypes: recordTypes,
                    silence: changeAt.flatMap { change in detectedAt.map { WebhookFreshness.Silence(changeAt: change, detectedAt: $0) } }
                )
            }
            return found
        }
    }

    public func saveWebhookFreshness(connection: String, _ freshness: WebhookFreshness) async throws(StoreError) {
        let types: String
        do {
            types = String(decoding: try JSONEncoder().encode(freshness.recordTypes), as: UTF8.self)
        } catch {
            throw StoreError(.internal, "cannot encode record types: \(error)")
        }
        let received = Int64(freshness.received)
        let (changeAt, detectedAt) = (freshness.silence?.changeAt, freshness.silence?.detectedAt)
        try await readValue(doing: "database cannot commit") { client, logger in
            // A connection removed meanwhile is skipped: the insert selects nothing.
            _ = try await client.query("""
                INSERT INTO webhook_freshness (connection, last_received_at, received, record_types, silence_change_at, silence_detected_at)
                SELECT \(connection), \(freshness.lastReceivedAt), \(received), \(types), \(changeAt), \(detectedAt)
                WHERE EXISTS (SELECT 1 FROM connections WHERE id = \(connection))
                ON CONFLICT (connection) DO UPDATE SET last_received_at = excluded.last_received_at, received = excluded.received,
                    record_types = excluded.record_types, silence_change_at = excluded.silence_change_at,
                    silence_detected_at = excluded.silence_detected_at
                """, logger: logger)
        }
    }
}
