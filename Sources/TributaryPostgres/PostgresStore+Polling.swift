import Foundation
import PostgresNIO
public import TributaryCore
public import TributaryStore

/// Poll cursors on PostgreSQL (``PollCursorStore``).
extension PostgresStore: PollCursorStore {
    public func pollState(connection: String, resource: String) async throws(StoreError) -> PollState {
        let found = try await pollStates("SELECT * FROM poll_cursors WHERE connection = \(connection) AND resource = \(resource)")
        return found.first ?? PollState(connection: connection, resource: resource, cursor: PollCursor(), pages: 0, observations: 0)
    }

    public func pollStates(connection: String?) async throws(StoreError) -> [PollState] {
        try await pollStates("""
            SELECT * FROM poll_cursors WHERE (\(connection)::text IS NULL OR connection = \(connection)) ORDER BY connection, resource
            """)
    }

    public func commitPage(
        _ drafts: [EventDraft], connection: String, resource: String, cursor: PollCursor,
        lease: String, holder: String, now: Int64, pages: Int
    ) async throws(StoreError) -> [AppendResult] {
        let cursorText = try Self.encode(cursor)
        return try await transaction { db, logger in
            // Fenced by holder. FOR SHARE makes a takeover wait for this commit, and this read wait
            // for a takeover in flight (then it sees the new holder and writes nothing).
            var held = false
            for try await _ in try await db.query("SELECT 1 FROM leases WHERE name = \(lease) AND holder = \(holder) FOR SHARE", logger: logger) {
                held = true
            }
            guard held else { throw StoreError(.leaseLost, "lease \(lease) is no longer held by \(holder)") }
            var results: [AppendResult] = []
            for draft in drafts { results.append(try await PostgresEventLog.insert(draft, on: db, logger: logger)) }
            try await db.query("""
                INSERT INTO poll_cursors (connection, resource, cursor, pages, observations)
                VALUES (\(connection), \(resource), \(cursorText), \(Int64(pages)), \(Int64(drafts.count)))
                ON CONFLICT (connection, resource) DO UPDATE SET
                    cursor = excluded.cursor, pages = poll_cursors.pages + excluded.pages,
                    observations = poll_cursors.observations + excluded.observations
                """, logger: logger)
            return results
        }
    }

    public func recordPollRun(
        connection: String, resource: String, startedAt: Int64, finishedAt: Int64, nextRunAt: Int64,
        error: String?, anomaly: String?, cursor: PollCursor?, changed: Bool, stalledRuns: Int?
    ) async throws(StoreError) {
        let cursorText = try cursor.map { cursor throws(StoreError) in try Self.encode(cursor) }
        let stalled = stalledRuns.map(Int64.init)
        let changedAt: Int64? = changed ? finishedAt : nil
        try await transaction { db, logger in
            _ = try await db.query("""
                INSERT INTO poll_cursors (
                    connection, resource, cursor, last_run_started_at, last_run_finished_at, next_run_at, last_error, last_anomaly,
                    last_change_at, stalled_runs
                )
                VALUES (\(connection), \(resource), COALESCE(\(cursorText), '{}'), \(startedAt), \(finishedAt), \(nextRunAt), \(error),
                        \(anomaly), \(changedAt), COALESCE(\(stalled), 0))
                ON CONFLICT (connection, resource) DO UPDATE SET
                    last_run_started_at = excluded.last_run_started_at, last_run_finished_at = excluded.last_run_finished_at,
                    next_run_at = excluded.next_run_at, last_error = excluded.last_error,
                    last_anomaly = COALESCE(excluded.last_anomaly, poll_cursors.last_anomaly),
                    cursor = CASE WHEN \(cursorText)::text IS NULL THEN poll_cursors.cursor ELSE excluded.cursor END,
                    last_change_at = COALESCE(excluded.last_change_at, poll_cursors.last_change_at),
                    stalled_runs = CASE WHEN \(stalled)::bigint IS NULL THEN poll_cursors.stalled_runs ELSE excluded.stalled_runs END
                """, logger: logger)
        }
    }

    static func encode(_ cursor: PollCursor) throws(StoreError) -> String {
        do {
            return String(decoding: try JSONEncoder().encode(cursor), as: UTF8.self)
        } catch {
            throw StoreError(.internal, "cannot encode PollCursor: \(error)")
        }
    }

    private func pollStates(_ query: PostgresQuery) async throws(StoreError) -> [PollState] {
        try await readValue { client, logger in
            var states: [PollState] = []
            for try await row in try await client.query(query, logger: logger) {
                let row = row.makeRandomAccess()
                let connection = try row["connection"].decode(String.self)
                let resource = try row["resource"].decode(String.self)
                let text = try row["cursor"].decode(String.self)
                let cursor: PollCursor
                do {
                    cursor = try JSONDecoder().decode(PollCursor.self, from: Data(text.utf8))
                } catch {
                    // Resetting it would silently start a full backfill and then overwrite the row.
                    throw StoreError(.internal, "the stored cursor of \(connection)/\(resource) does not decode (\(error)); it was left as it is")
                }
                states.append(PollState(
                    connection: connection, resource: resource, cursor: cursor,
                    lastRunStartedAt: try row["last_run_started_at"].decode(Int64?.self),
                    lastRunFinishedAt: try row["last_run_finished_at"].decode(Int64?.self),
                    nextRunAt: try row["next_run_at"].decode(Int64?.self), lastError: try row["last_error"].decode(String?.self),
                    lastAnomaly: try row["last_anomaly"].decode(String?.self), pages: Int(try row["pages"].decode(Int64.self)),
                    observations: Int(try row["observations"].decode(Int64.self)),
                    lastChangeAt: try row["last_change_at"].decode(Int64?.self), stalledRuns: Int(try row["stalled_runs"].decode(Int64.self))
                ))
            }
            return states
        }
    }
}
