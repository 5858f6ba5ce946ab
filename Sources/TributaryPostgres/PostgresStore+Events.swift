import Foundation
import Logging
import PostgresNIO
public import TributaryCore
public import TributaryStore

/// The event log on PostgreSQL: the same contract as SQLite's (``EventLogStore``).
extension PostgresStore: EventLogStore {
    public func append(_ draft: EventDraft, reservation: IntakeReservation?) async throws(StoreError) -> AppendResult {
        try await writer.append(draft, reservation: reservation)
    }

    public func reserveIntake(bodyBytes: Int, headerBytes: Int) throws(StoreError) -> IntakeReservation {
        try writer.reserve(bytes: GroupCommitWriter.cost(body: bodyBytes, headers: headerBytes))
    }

    public func releaseIntake(_ reservation: IntakeReservation) {
        writer.release(reservation)
    }

    public var intakeQueue: IntakeQueueGauge { writer.gauge }

    public func events(_ filter: EventFilter) async throws(StoreError) -> [StoredEvent] {
        var sql = "SELECT * FROM events WHERE true"
        var binds = PostgresBindings()
        if let connection = filter.connection {
            try await requireConnection(connection)
            binds.append(connection)
            sql += " AND connection = $\(binds.count)"
        }
        if let status = filter.status {
            binds.append(status.rawValue)
            sql += " AND status = $\(binds.count)"
        }
        if let type = filter.type {
            binds.append(type)
            sql += " AND type = $\(binds.count)"
        }
        if let after = filter.afterSeq {
            binds.append(after)
            sql += " AND seq > $\(binds.count)"
        }
        binds.append(Int64(filter.limit))
        sql += " ORDER BY seq LIMIT $\(binds.count)"
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        return try await readValue { client, logger in
            var events: [StoredEvent] = []
            for try await row in try await client.query(query, logger: logger) { events.append(try PostgresEventLog.event(row)) }
            return events
        }
    }

    public func event(seq: Int64) async throws(StoreError) -> StoredEvent? {
        try await readValue { client, logger in
            for try await row in try await client.query("SELECT * FROM events WHERE seq = \(seq)", logger: logger) {
                return try PostgresEventLog.event(row)
            }
            return nil
        }
    }

    public func eventCounts(connection: String?) async throws(StoreError) -> [EventStatus: Int] {
        try await readValue { client, logger in
            var counts: [EventStatus: Int] = [:]
            let rows = try await client.query("""
                SELECT status, count(*) FROM events WHERE (\(connection)::text IS NULL OR connection = \(connection)) GROUP BY status
                """, logger: logger)
            for try await (status, count) in rows.decode((String, Int64).self) {
                if let status = EventStatus(rawValue: status) { counts[status] = Int(count) }
            }
            return counts
        }
    }

    /// Throws `.notFound` unless `id` names a connection (or an app's quarantine, `app:ID`).
    func requireConnection(_ id: String) async throws(StoreError) {
        let exists = try await readValue { client, logger in
            let rows = try await client.query("""
                SELECT EXISTS (SELECT 1 FROM connections WHERE id = \(id))
                    OR (left(\(id), 4) = 'app:' AND EXISTS (SELECT 1 FROM apps WHERE id = substr(\(id), 5)))
                """, logger: logger)
            for try await exists in rows.decode(Bool.self) { return exists }
            return false
        }
        guard exists else {
            throw StoreError(.notFound, id.hasPrefix(ProviderApp.quarantinePrefix) ? "no app \(id.dropFirst(4))" : "no connection \(id)")
        }
    }
}

/// PostgreSQL's committer for the group-commit writer: one transaction per batch.
struct PostgresEventCommitter: EventCommitter {
    let client: PostgresClient
    let logger: Logger
    /// How long a batch may wait for a connection and its commit (``StoreOptions/busyTimeout``): past
    /// it intake answers 503, as it does on SQLite when the database is locked.
    let limit: Duration

    func insert(_ drafts: [EventDraft]) async throws(StoreError) -> [AppendResult] {
        let (client, logger) = (self.client, self.logger)
        return try await withDeadline(limit, doing: "database cannot commit") {
            try await client.withTransaction(logger: logger) { connection in
                var results: [AppendResult] = []
                results.reserveCapacity(drafts.count)
                for draft in drafts { results.append(try await PostgresEventLog.insert(draft, on: connection, logger: logger)) }
                return results
            }
        }
    }

    func probe(now: Int64) async throws(StoreError) {
        let (client, logger) = (self.client, self.logger)
        try await withDeadline(limit, doing: "database cannot commit") {
            _ = try await client.query("""
                INSERT INTO settings (key, value) VALUES ('readyz.probe', \(String(now))) ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """, logger: logger)
        }
    }

    /// PostgreSQL's connections are replaced by the pool itself; nothing is reopened by hand.
    var reopened: Int { 0 }
}

/// SQL for the event log on PostgreSQL.
enum PostgresEventLog {
    /// `INSERT … ON CONFLICT DO NOTHING` on `(connection, event_id)`; a repeat returns the first row's seq.
    ///
    /// Two nodes inserting the same id at once: the second's insert waits for the first's
    /// transaction, then does nothing, and its `SELECT` (a new snapshot under READ COMMITTED) finds
    /// the committed row. The replay guard's read-then-insert is made atomic across nodes by a
    /// transaction-scoped advisory lock on the connection and body digest.
    static func insert(_ draft: EventDraft, on connection: PostgresConnection, logger: Logger) async throws -> AppendResult {
        if let guardInfo = draft.replayGuard {
            let lockName = draft.connection + "\n" + guardInfo.key
            try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(lockName), 0))", logger: logger)
            let rows = try await connection.query("""
                SELECT seq FROM events WHERE connection = \(draft.connection) AND body_digest = \(guardInfo.key)
                    AND received_at >= \(draft.receivedAt - guardInfo.horizon) LIMIT 1
                """, logger: logger)
            for try await seq in rows.decode(Int64.self) { return AppendResult(seq: seq, duplicate: true) }
        }
        let headers = JSONValue.array(draft.headers.map { .array([.string($0.name), .string($0.value)]) }).jsonText
        let record = draft.record
        let inserted = try await connection.query("""
            INSERT INTO events (connection, tenant, provider, source, event_id, type, record_type, record_id, version,
                                deleted, full_state, occurred_at, received_at, status, reason, headers, body, url,
                                read_fence, generation, body_digest, awaiting_fetch, incarnation)
            SELECT \(draft.connection), \(draft.tenant), \(draft.provider), \(draft.source.rawValue), \(draft.eventId), \(draft.type),
                   \(record?.recordType), \(record?.recordId), \(record?.version), \(record?.deleted ?? false), \(record?.fullState ?? false),
                   \(draft.occurredAt), \(draft.receivedAt), \(draft.status.rawValue), \(draft.reason), \(headers), \(Data(draft.body)),
                   \(draft.url), \(draft.readFence), \(draft.generation), \(draft.replayGuard?.key), \(draft.awaitingFetch?.rawValue),
                   \(record?.incarnation)
            WHERE EXISTS (SELECT 1 FROM connections WHERE id = \(draft.connection))
               OR (left(\(draft.connection), 4) = 'app:' AND EXISTS (SELECT 1 FROM apps WHERE id = substr(\(draft.connection), 5)))
            ON CONFLICT (connection, event_id) DO NOTHING
            RETURNING seq
            """, logger: logger)
        for try await seq in inserted.decode(Int64.self) { return AppendResult(seq: seq, duplicate: false) }
        let existing = try await connection.query("""
            SELECT seq FROM events WHERE connection = \(draft.connection) AND event_id = \(draft.eventId)
            """, logger: logger)
        for try await seq in existing.decode(Int64.self) { return AppendResult(seq: seq, duplicate: true) }
        throw StoreError(.notFound, "no connection \(draft.connection)")
    }

    static func event(_ row: PostgresRow) throws -> StoredEvent {
        let row = row.makeRandomAccess()
        let headersText = try row["headers"].decode(String.self)
        var headers: [[String]] = []
        if case .array(let pairs)? = JSONValue(parsing: Array(headersText.utf8)) {
            headers = pairs.map { pair in
                guard case .array(let items) = pair else { return [] }
                return items.compactMap(\.stringValue)
            }
        }
        return StoredEvent(
            seq: try row["seq"].decode(Int64.self), connection: try row["connection"].decode(String.self),
            tenant: try row["tenant"].decode(String.self), provider: try row["provider"].decode(String.self),
            source: EventSource(rawValue: try row["source"].decode(String.self)) ?? .webhook,
            eventId: try row["event_id"].decode(String.self), type: try row["type"].decode(String?.self),
            recordType: try row["record_type"].decode(String?.self), recordId: try row["record_id"].decode(String?.self),
            version: try row["version"].decode(Int64?.self), deleted: try row["deleted"].decode(Bool.self),
            fullState: try row["full_state"].decode(Bool.self), occurredAt: try row["occurred_at"].decode(Int64?.self),
            receivedAt: try row["received_at"].decode(Int64.self),
            status: EventStatus(rawValue: try row["status"].decode(String.self)) ?? .pending,
            reason: try row["reason"].decode(String?.self), headers: headers, body: Array(try row["body"].decode(Data.self)),
            url: try row["url"].decode(String?.self), readFence: try row["read_fence"].decode(Int64?.self),
            generation: try row["generation"].decode(Int64?.self)
        )
    }
}
