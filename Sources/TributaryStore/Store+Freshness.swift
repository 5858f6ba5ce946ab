import Foundation
import GRDB
public import TributaryCore

extension Store {
    /// The events after `afterSeq`, in seq order, as the webhook watch reads them: no bodies.
    public func eventMarks(afterSeq: Int64, limit: Int) async throws(StoreError) -> [EventMark] {
        try await readValue { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT seq, connection, source, record_type, occurred_at, received_at FROM events WHERE seq > ? ORDER BY seq LIMIT ?
                """), arguments: [afterSeq, limit]).map { row in
                EventMark(
                    seq: row["seq"], connection: row["connection"], source: EventSource(rawValue: row["source"]) ?? .webhook,
                    recordType: row["record_type"], occurredAt: row["occurred_at"], receivedAt: row["received_at"]
                )
            }
        }
    }

    /// The newest event's seq (0 for an empty log).
    public func latestSeq() async throws(StoreError) -> Int64 {
        try await readValue { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM events") ?? 0 }
    }

    /// Every connection's webhook freshness as the watch last saved it.
    public func webhookFreshness() async throws(StoreError) -> [String: WebhookFreshness] {
        try await readValue { db in
            var found: [String: WebhookFreshness] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM webhook_freshness") { found[row["connection"]] = Self.freshness(row) }
            return found
        }
    }

    /// Saves what the watch knows of `connection`'s webhooks (a connection removed meanwhile is skipped).
    public func saveWebhookFreshness(connection: String, _ freshness: WebhookFreshness) async throws(StoreError) {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM connections WHERE id = ?", arguments: [connection]) == true else { return }
            let types = String(decoding: try JSONEncoder().encode(freshness.recordTypes), as: UTF8.self)
            try db.execute(sql: """
                INSERT INTO webhook_freshness (connection, last_received_at, received, record_types, silence_change_at, silence_detected_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (connection) DO UPDATE SET last_received_at = excluded.last_received_at, received = excluded.received,
                    record_types = excluded.record_types, silence_change_at = excluded.silence_change_at, silence_detected_at = excluded.silence_detected_at
                """, arguments: [connection, freshness.lastReceivedAt, freshness.received, types, freshness.silence?.changeAt, freshness.silence?.detectedAt])
        }
    }

    static func webhookFreshness(connection: String, db: Database) throws -> WebhookFreshness? {
        try Row.fetchOne(db, sql: "SELECT * FROM webhook_freshness WHERE connection = ?", arguments: [connection]).map(freshness)
    }

    static func freshness(_ row: Row) -> WebhookFreshness {
        let types = (row["record_types"] as String?).flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
        let changeAt: Int64? = row["silence_change_at"]
        let detectedAt: Int64? = row["silence_detected_at"]
        return WebhookFreshness(
            lastReceivedAt: row["last_received_at"], received: row["received"], recordTypes: types,
            silence: changeAt.flatMap { change in detectedAt.map { WebhookFreshness.Silence(changeAt: change, detectedAt: $0) } }
        )
    }
}
