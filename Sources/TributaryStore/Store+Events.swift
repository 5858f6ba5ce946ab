import Foundation
import GRDB
public import TributaryCore

/// The event log facet: the durable append (through the group-commit writer) and its reads.
extension Store {
    /// Appends one event durably: returns only after the transaction holding it has committed.
    /// - Parameter reservation: room intake took with ``reserveIntake(bodyBytes:headerBytes:)`` before reading the
    ///   body; without one the append takes its own (and is refused at once past the bound).
    /// - Throws: `.overloaded` past the bound, `.unavailable` when the database cannot commit.
    public func append(_ draft: EventDraft, reservation: IntakeReservation?) async throws(StoreError) -> AppendResult {
        try await writer.append(draft, reservation: reservation)
    }

    /// Takes room for one webhook with a body of `bodyBytes` and `headerBytes` of headers among those
    /// intake may hold at once (``StoreOptions/maxWaitingEvents``, ``StoreOptions/maxWaitingBytes``),
    /// before its body is read; ``releaseIntake(_:)`` gives it back once the request is answered.
    /// Counted as the writer counts an append of its own.
    /// - Throws: `.overloaded` when the bound is reached: answer 503 without reading the body.
    public func reserveIntake(bodyBytes: Int, headerBytes: Int) throws(StoreError) -> IntakeReservation {
        try writer.reserve(bytes: GroupCommitWriter.cost(body: bodyBytes, headers: headerBytes))
    }

    public func releaseIntake(_ reservation: IntakeReservation) {
        writer.release(reservation)
    }

    /// Number of commits made by the group-commit writer (for benchmarks).
    public var commitCount: Int { writer.gauge.commits }

    /// Events in log order, filtered.
    /// - Throws: `.notFound` when the filter's connection names no connection.
    public func events(_ filter: EventFilter) async throws(StoreError) -> [StoredEvent] {
        try await read { db in
            try Self.requireConnection(filter.connection, db: db)
            return try EventLog.list(filter, db: db)
        }
    }

    public func event(seq: Int64) async throws(StoreError) -> StoredEvent? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM events WHERE seq = ?", arguments: [seq]).map(EventLog.event) }
    }

    /// A record's events, newest first, among the connection's latest `window` events (a record's
    /// history on the dashboard; no index by record is kept, so intake pays nothing for it).
    public func recordHistory(connection: String, type: String, id: String, window: Int = 50_000, limit: Int = 100) async throws(StoreError) -> [StoredEvent] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM (SELECT * FROM events WHERE connection = ? ORDER BY seq DESC LIMIT ?)
                WHERE record_type = ? AND record_id = ? ORDER BY seq DESC LIMIT ?
                """, arguments: [connection, window, type, id, limit]).map(EventLog.event)
        }
    }

    /// Event counts by status, for `status` and tests.
    public func eventCounts(connection: String? = nil) async throws(StoreError) -> [EventStatus: Int] {
        try await read { db in try Self.eventCounts(connection: connection, db: db) }
    }

    static func eventCounts(connection: String?, db: Database) throws -> [EventStatus: Int] {
        // Every status but `applied` from its index; `applied` is what remains of the total.
        let rows = try Row.fetchAll(db, sql: """
            SELECT status, COUNT(*) AS n FROM events WHERE \(EventLog.unapplied) AND (?1 IS NULL OR connection = ?1) GROUP BY status
            """, arguments: [connection])
        let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE (?1 IS NULL OR connection = ?1)", arguments: [connection]) ?? 0
        var counts: [EventStatus: Int] = [:]
        for row in rows {
            if let status = EventStatus(rawValue: row["status"]) { counts[status] = row["n"] }
        }
        let applied = total - counts.values.reduce(0, +)
        if applied > 0 { counts[.applied] = applied }
        return counts
    }
}
