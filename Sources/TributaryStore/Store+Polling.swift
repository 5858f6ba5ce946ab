import Foundation
import GRDB
import Logging
public import TributaryCore

extension Store {
    /// The poll state of one resource (an empty cursor when it was never polled).
    public func pollState(connection: String, resource: String) async throws(StoreError) -> PollState {
        try await readValue { db in
            try Row.fetchOne(db, sql: "SELECT * FROM poll_cursors WHERE connection = ? AND resource = ?", arguments: [connection, resource])
                .map { try Self.pollState($0) } ?? PollState(connection: connection, resource: resource, cursor: PollCursor(), pages: 0, observations: 0)
        }
    }

    /// Every resource's poll state, for `status`.
    public func pollStates(connection: String? = nil) async throws(StoreError) -> [PollState] {
        try await readValue { db in try Self.pollStates(connection: connection, db: db) }
    }

    static func pollStates(connection: String?, db: Database) throws -> [PollState] {
        try Row.fetchAll(db, sql: "SELECT * FROM poll_cursors WHERE (?1 IS NULL OR connection = ?1) ORDER BY connection, resource", arguments: [connection])
            .map { try Self.pollState($0) }
    }

    /// - Throws: when the stored cursor does not decode: resetting it would silently start a full backfill
    ///   and then overwrite the row, so the run fails and says why instead.
    static func pollState(_ row: Row) throws -> PollState {
        let text: String = row["cursor"]
        let cursor: PollCursor
        do {
            cursor = try JSONDecoder().decode(PollCursor.self, from: Data(text.utf8))
        } catch {
            throw StoreError(.internal, "the stored cursor of \(row["connection"] as String)/\(row["resource"] as String) does not decode (\(error)); it was left as it is")
        }
        return PollState(
            connection: row["connection"], resource: row["resource"], cursor: cursor,
            lastRunStartedAt: row["last_run_started_at"], lastRunFinishedAt: row["last_run_finished_at"],
            nextRunAt: row["next_run_at"], lastError: row["last_error"], lastAnomaly: row["last_anomaly"],
            pages: row["pages"], observations: row["observations"], lastChangeAt: row["last_change_at"], stalledRuns: row["stalled_runs"]
        )
    }

    /// Appends one page's observations (or several pages', with the cursor after the last) and moves
    /// the cursor in **one** transaction, fenced by the lease.
    ///
    /// - Important: If `lease` is no longer held by `holder`, nothing is written and the error is
    ///   `.leaseLost`: a run that lost its lease (it stalled past the expiry and another process
    ///   took over) must not move a cursor the new holder is moving.
    /// - Returns: the append result of each draft, in order.
    public func commitPage(
        _ drafts: [EventDraft], connection: String, resource: String, cursor: PollCursor,
        lease: String, holder: String, now: Int64, pages: Int = 1
    ) async throws(StoreError) -> [AppendResult] {
        let cursorText = String(decoding: try JSONEncoder().encodeOrThrow(cursor), as: UTF8.self)
        return try await writeValue { db in
            // Fenced by holder: a takeover changes the holder; an expired lease nobody took is still ours.
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM leases WHERE name = ? AND holder = ?", arguments: [lease, holder]) == true else {
                throw StoreError(.leaseLost, "lease \(lease) is no longer held by \(holder)")
            }
            let results = try drafts.map { try EventLog.insert($0, db: db) }
            try db.execute(sql: """
                INSERT INTO poll_cursors (connection, resource, cursor, pages, observations) VALUES (?1, ?2, ?3, ?5, ?4)
                ON CONFLICT (connection, resource) DO UPDATE SET
                    cursor = excluded.cursor, pages = pages + excluded.pages, observations = observations + excluded.observations
                """, arguments: [connection, resource, cursorText, drafts.count, pages])
            return results
        }
    }

    /// Records how a run went and when the next is due.
    public func recordPollRun(
        connection: String, resource: String, startedAt: Int64, finishedAt: Int64, nextRunAt: Int64,
        error: String?, anomaly: String?, cursor: PollCursor? = nil, changed: Bool = false, stalledRuns: Int? = nil
    ) async throws(StoreError) {
        var encoded: String?
        if let cursor { encoded = String(decoding: try JSONEncoder().encodeOrThrow(cursor), as: UTF8.self) }
        let cursorText = encoded
        try await writeValue { db in
            try db.execute(sql: """
                INSERT INTO poll_cursors (
                    connection, resource, cursor, last_run_started_at, last_run_finished_at, next_run_at, last_error, last_anomaly,
                    last_change_at, stalled_runs
                )
                VALUES (?1, ?2, COALESCE(?8, '{}'), ?3, ?4, ?5, ?6, ?7, CASE WHEN ?9 THEN ?4 END, COALESCE(?10, 0))
                ON CONFLICT (connection, resource) DO UPDATE SET
                    last_run_started_at = ?3, last_run_finished_at = ?4, next_run_at = ?5,
                    last_error = ?6, last_anomaly = COALESCE(?7, last_anomaly), cursor = COALESCE(?8, cursor),
                    last_change_at = CASE WHEN ?9 THEN ?4 ELSE last_change_at END, stalled_runs = COALESCE(?10, stalled_runs)
                """, arguments: [connection, resource, startedAt, finishedAt, nextRunAt, error, anomaly, cursorText, changed, stalledRuns])
        }
    }

    /// Takes (or renews) a named lease until `now + ttl` unless another holder has it unexpired.
    ///
    /// This is how `tributary poll --once` from cron and a running `serve` never poll one
    /// resource at the same time: both take the lease `poll:<connection>:<resource>` first.
    /// - Returns: whether `holder` has the lease now.
    public func acquireLease(_ name: String, holder: String, ttl: Duration, now: Int64) async throws(StoreError) -> Bool {
        let expires = now + ttl.microseconds
        return try await writeValue { db in
            try db.execute(sql: """
                INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
                ON CONFLICT (name) DO UPDATE SET holder = ?2, expires_at = ?3
                WHERE leases.holder = ?2 OR leases.expires_at <= ?4
                """, arguments: [name, holder, expires, now])
            return db.changesCount == 1
        }
    }

    /// Who holds a lease now, if anyone.
    public func leaseHolder(_ name: String) async throws(StoreError) -> (holder: String, expiresAt: Int64)? {
        try await readValue { db in
            try Row.fetchOne(db, sql: "SELECT holder, expires_at FROM leases WHERE name = ?", arguments: [name]).map { ($0["holder"], $0["expires_at"]) }
        }
    }

    /// Takes a lease from `previous` (known to be dead) before it expires; nothing happens if someone else has it by now.
    public func takeOverLease(_ name: String, from previous: String, holder: String, ttl: Duration, now: Int64) async throws(StoreError) -> Bool {
        let expires = now + ttl.microseconds
        return try await writeValue { db in
            try db.execute(sql: "UPDATE leases SET holder = ?, expires_at = ? WHERE name = ? AND holder = ?", arguments: [holder, expires, name, previous])
            return db.changesCount == 1
        }
    }

    /// Gives a lease back early (a finished run), if `holder` still has it.
    public func releaseLease(_ name: String, holder: String) async throws(StoreError) {
        try await writeValue { db in
            try db.execute(sql: "DELETE FROM leases WHERE name = ? AND holder = ?", arguments: [name, holder])
        }
    }

    /// The connection's API settings: base URL override and the sealed API token.
    public func setAPICredentials(connection: String, token: String?, baseURL: String?, now: Int64) async throws(StoreError) {
        var sealedToken: (Data, String)?
        if let token { sealedToken = (try box.seal(token), box.fingerprint(token)) }
        let sealed = sealedToken
        try await writeValue { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM connections WHERE id = ?", arguments: [connection]) == true else {
                throw StoreError(.notFound, "no connection \(connection)")
            }
            if let baseURL { try db.execute(sql: "UPDATE connections SET api_base_url = ? WHERE id = ?", arguments: [baseURL, connection]) }
            if let (blob, fingerprint) = sealed {
                try db.execute(sql: "UPDATE connection_secrets SET retired_at = ? WHERE connection = ? AND purpose = 'api' AND retired_at IS NULL", arguments: [now, connection])
                try db.execute(sql: """
                    INSERT INTO connection_secrets (connection, purpose, sealed, fingerprint, added_at) VALUES (?, 'api', ?, ?, ?)
                    """, arguments: [connection, blob, fingerprint, now])
            }
        }
        forgetCachedConnections()
    }

    /// The connection's API base URL override, opened API token, and whether it holds an OAuth grant.
    public func apiCredentials(connection: String) async throws(StoreError) -> (baseURL: String?, token: String?, authorized: Bool) {
        let box = self.box
        return try await readValue { db in
            let baseURL = try String.fetchOne(db, sql: "SELECT api_base_url FROM connections WHERE id = ?", arguments: [connection])
            let sealed = try Data.fetchOne(db, sql: """
                SELECT sealed FROM connection_secrets WHERE connection = ? AND purpose = 'api' AND retired_at IS NULL ORDER BY id DESC LIMIT 1
                """, arguments: [connection])
            let authorized = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM oauth_grants WHERE connection = ?)", arguments: [connection]) ?? false
            return (baseURL, try sealed.map { try box.open($0) }, authorized)
        }
    }

    /// Saves a connection's rate-limit state so `status` can show it.
    public func saveRateLimitState(connection: String, state: String, now: Int64) async throws(StoreError) {
        try await writeValue { db in
            try db.execute(sql: """
                INSERT INTO rate_limits (connection, state, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (connection) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
                """, arguments: [connection, state, now])
        }
    }

    public func rateLimitState(connection: String) async throws(StoreError) -> String? {
        try await readValue { db in try Self.rateLimitState(connection: connection, db: db) }
    }

    static func rateLimitState(connection: String, db: Database) throws -> String? {
        try String.fetchOne(db, sql: "SELECT state FROM rate_limits WHERE connection = ?", arguments: [connection])
    }
}

extension JSONEncoder {
    func encodeOrThrow(_ value: some Encodable) throws(StoreError) -> Data {
        do { return try encode(value) } catch { throw StoreError(.internal, "cannot encode \(type(of: value)): \(error)") }
    }
}
