import Foundation
import GRDB
import TributaryCore

/// SQL for the event log: the idempotent append and the reads.
enum EventLog {
    /// `INSERT … ON CONFLICT DO NOTHING` on `(connection, event_id)`; a repeat returns the first row's seq.
    static func insert(_ draft: EventDraft, db: Database) throws -> AppendResult {
        if let guardInfo = draft.replayGuard, let seq = try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT seq FROM events WHERE connection = ? AND body_digest = ? AND body_digest IS NOT NULL AND received_at >= ? LIMIT 1
            """), arguments: [draft.connection, guardInfo.key, draft.receivedAt - guardInfo.horizon]) {
            // The same signed body under another unsigned id: a replay or a provider retry. This read
            // and the insert below run in one write transaction, so no second writer can slip between.
            return AppendResult(seq: seq, duplicate: true)
        }
        let headers = JSONValue.array(draft.headers.map { .array([.string($0.name), .string($0.value)]) }).jsonText
        let arguments: StatementArguments = [
            draft.connection, draft.tenant, draft.provider, draft.source.rawValue, draft.eventId, draft.type,
            draft.record?.recordType, draft.record?.recordId, draft.record?.version,
            draft.record?.deleted ?? false, draft.record?.fullState ?? false,
            draft.occurredAt, draft.receivedAt, draft.status.rawValue, draft.reason, headers, Data(draft.body), draft.url,
            draft.readFence, draft.generation, draft.replayGuard?.key, draft.awaitingFetch?.rawValue, draft.record?.incarnation,
        ]
        // Cached statements: the log's two statements are compiled once per connection, not per event.
        if let seq = try Int64.fetchOne(db.cachedStatement(sql: """
            INSERT INTO events (connection, tenant, provider, source, event_id, type, record_type, record_id, version,
                                deleted, full_state, occurred_at, received_at, status, reason, headers, body, url,
                                read_fence, generation, body_digest, awaiting_fetch, incarnation)
            SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
            WHERE EXISTS (SELECT 1 FROM connections WHERE id = ?1)
               OR (substr(?1, 1, 4) = 'app:' AND EXISTS (SELECT 1 FROM apps WHERE id = substr(?1, 5)))
            ON CONFLICT (connection, event_id) DO NOTHING
            RETURNING seq
            """), arguments: arguments) {
            return AppendResult(seq: seq, duplicate: false)
        }
        guard let seq = try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM events WHERE connection = ? AND event_id = ?"),
                                           arguments: [draft.connection, draft.eventId]) else {
            // Removed (`connections remove --purge`) after the caller looked it up: nothing may be stored under
            // it, or a connection added later with the same id would inherit the event and its tenant.
            throw StoreError(.notFound, "no connection \(draft.connection)")
        }
        return AppendResult(seq: seq, duplicate: true)
    }

    /// The condition of the partial index `events_unapplied` (every event but the applied ones).
    /// SQLite uses a partial index only for a query that carries its condition verbatim, so every
    /// query for events by a status other than `applied` adds this term.
    static let unapplied = "status != 'applied'"

    static func list(_ filter: EventFilter, db: Database) throws -> [StoredEvent] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let connection = filter.connection { clauses.append("connection = ?"); arguments += [connection] }
        if let status = filter.status {
            clauses.append(status == .applied ? "status = ?" : "status = ? AND \(unapplied)")
            arguments += [status.rawValue]
        }
        if let type = filter.type { clauses.append("type = ?"); arguments += [type] }
        if let after = filter.afterSeq { clauses.append("seq > ?"); arguments += [after] }
        let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        arguments += [filter.limit]
        return try Row.fetchAll(db, sql: "SELECT * FROM events \(whereSQL) ORDER BY seq LIMIT ?", arguments: arguments).map(event)
    }

    static func event(_ row: Row) -> StoredEvent {
        let headersText: String = row["headers"]
        var headers: [[String]] = []
        if case .array(let pairs)? = JSONValue(parsing: Array(headersText.utf8)) {
            headers = pairs.map { pair in
                guard case .array(let items) = pair else { return [] }
                return items.compactMap(\.stringValue)
            }
        }
        let body: Data = row["body"]
        return StoredEvent(
            seq: row["seq"], connection: row["connection"], tenant: row["tenant"], provider: row["provider"],
            source: EventSource(rawValue: row["source"]) ?? .webhook, eventId: row["event_id"], type: row["type"],
            recordType: row["record_type"], recordId: row["record_id"], version: row["version"],
            deleted: row["deleted"], fullState: row["full_state"], occurredAt: row["occurred_at"],
            receivedAt: row["received_at"], status: EventStatus(rawValue: row["status"]) ?? .pending,
            reason: row["reason"], headers: headers, body: Array(body), url: row["url"],
            readFence: row["read_fence"], generation: row["generation"]
        )
    }
}
