import Foundation
import GRDB
public import TributaryCore

extension Store {
    /// The resource's sweep in progress (an interrupted one is resumed, not restarted), or a new generation.
    public func beginSweep(connection: String, resource: String, recordType: String, now: Int64) async throws(StoreError) -> Sweep {
        try await writeValue { db in
            if let row = try Row.fetchOne(db, sql: """
                SELECT * FROM sweeps WHERE connection = ? AND resource = ? AND status = 'running' ORDER BY generation DESC LIMIT 1
                """, arguments: [connection, resource]) {
                return try Self.sweep(row)
            }
            try db.execute(sql: "INSERT INTO sweeps (connection, resource, record_type, started_at) VALUES (?, ?, ?, ?)",
                           arguments: [connection, resource, recordType, now])
            return try Self.sweep(Row.fetchOne(db, sql: "SELECT * FROM sweeps WHERE generation = ?", arguments: [db.lastInsertedRowID])!)
        }
    }

    /// Commits one or more pages of a sweep with its cursor, fenced by the sweep's lease.
    ///
    /// Every record seen is tagged with the sweep's generation. Only drift is logged (as `sweep`
    /// events the reconciler applies like any other): a record the mirror lacks, holds at an older
    /// version, or holds with other content or deletion state. A record the mirror holds at a newer
    /// version was changed after the page was read and is left alone.
    public func commitSweepPage(
        _ drafts: [EventDraft], sweep generation: Int64, cursor: PollCursor, lease: String, holder: String, pages: Int = 1
    ) async throws(StoreError) {
        let cursorText = String(decoding: try JSONEncoder().encodeOrThrow(cursor), as: UTF8.self)
        // Hashed before the write transaction, which then only reads and writes rows.
        let hashes = drafts.map { Self.hash($0.body) }
        try await writeValue { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM leases WHERE name = ? AND holder = ?", arguments: [lease, holder]) == true else {
                throw StoreError(.leaseLost, "lease \(lease) is no longer held by \(holder)")
            }
            var seen = 0
            var missing = 0
            var stale = 0
            for (index, var draft) in drafts.enumerated() {
                guard let ref = draft.record else { continue }
                let bodyHash = hashes[index]
                // A record listed twice in one sweep (pages that repeat items, a record that moved ahead
                // while the sweep paged) is seen and counted once; a newer read of it is still logged.
                var firstSighting = true
                let held = try Row.fetchOne(db.cachedStatement(sql: """
                    SELECT version, deleted, content_hash, version_trusted FROM records WHERE connection = ? AND record_type = ? AND record_id = ?
                    """), arguments: [draft.connection, ref.recordType, ref.recordId])
                if let held {
                    try db.cachedStatement(sql: """
                        UPDATE records SET generation = ? WHERE connection = ? AND record_type = ? AND record_id = ? AND coalesce(generation, 0) < ?
                        """).execute(arguments: [generation, draft.connection, ref.recordType, ref.recordId, generation])
                    firstSighting = db.changesCount == 1
                    let version: Int64? = held["version"]
                    let trusted: Bool = held["version_trusted"]
                    let drifted: Bool
                    if let version, let seen = ref.version, trusted {
                        drifted = seen > version || (seen == version && ref.deleted != held["deleted"])
                    } else {
                        drifted = ref.deleted != held["deleted"] || (!ref.deleted && held["content_hash"] != bodyHash)
                    }
                    if firstSighting { seen += 1 }
                    guard drifted else { continue }
                    draft.source = .sweep
                    draft.generation = generation
                    draft.eventId = "sweep:\(generation):\(ref.recordType):\(ref.recordId):\(ref.version.map(String.init) ?? bodyHash)"
                    if try !EventLog.insert(draft, db: db).duplicate, firstSighting { stale += 1 }
                } else {
                    // Not in the mirror yet: the first sighting's event creates it; a later one is only logged.
                    draft.source = .sweep
                    draft.generation = generation
                    draft.eventId = "sweep:\(generation):\(ref.recordType):\(ref.recordId)"
                    if try EventLog.insert(draft, db: db).duplicate {
                        draft.eventId += ":" + (ref.version.map(String.init) ?? bodyHash)
                        _ = try EventLog.insert(draft, db: db)
                        continue
                    }
                    seen += 1
                    // A tombstone the mirror never knew is no drift: the mirror has nothing to correct.
                    if !ref.deleted { missing += 1 }
                }
            }
            try db.execute(sql: """
                UPDATE sweeps SET cursor = ?, pages = pages + ?, seen = seen + ?, missing = missing + ?, stale = stale + ? WHERE generation = ?
                """, arguments: [cursorText, pages, seen, missing, stale, generation])
        }
    }

    /// Ends a sweep. A complete one proposes deletions in the same transaction: every live mirror
    /// record of its type that it did not see and that nothing wrote since it began becomes a
    /// `sweep` event waiting for a fetch, which tombstones the record only on a 404/410.
    /// - Parameter confirmable: whether the provider can be asked (the manifest has `api.fetch`);
    ///   when not, suspects are only counted as `extra`: a sweep alone never deletes.
    /// - Returns: how many records are suspected deleted.
    /// - Parameters:
    ///   - lease, holder: the sweep's lease, which must still be held (as for its pages): a process
    ///     that lost it mid-sweep must not end a sweep another process has taken over.
    /// - Throws: `.leaseLost` when the lease is gone or the sweep is no longer running.
    @discardableResult
    public func finishSweep(
        _ generation: Int64, status: Sweep.Status, error: String? = nil, confirmable: Bool, lease: String, holder: String, now: Int64
    ) async throws(StoreError) -> Int {
        let sweep = try await readValue { db in try Self.runningSweep(generation, lease: lease, holder: holder, db: db) }
        var proposed = 0
        if status == .complete, confirmable {
            // Proposed in bounded transactions, in record id order, so a sweep of a large type never
            // holds intake's commits back. Each is fenced by the lease; a crash between two leaves the
            // sweep running with some suspects logged, and finishing it again logs the rest (the ids
            // are deterministic, so the first ones dedupe). The scan walks the primary key from where
            // the last batch ended (`+updated_at` keeps the planner off the updated_at index, which
            // would read and sort every record of the type again for each batch).
            var after = ""
            while true {
                let from = after
                let (count, last) = try await writeValue { db -> (Int, String?) in
                    _ = try Self.runningSweep(generation, lease: lease, holder: holder, db: db)
                    let candidates = try Row.fetchAll(db, sql: """
                        SELECT connection, tenant, provider, record_type, record_id FROM records
                        WHERE connection = ? AND record_type = ? AND record_id > ?
                          AND deleted = 0 AND coalesce(generation, 0) < ? AND +updated_at < ?
                        ORDER BY record_id LIMIT ?
                        """, arguments: [sweep.connection, sweep.recordType, from, generation, sweep.startedAt, Self.suspectBatch])
                    for candidate in candidates {
                        let recordId: String = candidate["record_id"]
                        var suspect = EventDraft(
                            connection: candidate["connection"], tenant: candidate["tenant"], provider: candidate["provider"],
                            source: .sweep, eventId: "sweep:\(generation):suspect:\(sweep.recordType):\(recordId)",
                            type: "\(sweep.recordType).suspected_deleted",
                            record: RecordRef(recordType: sweep.recordType, recordId: recordId, version: nil, deleted: false, fullState: false),
                            occurredAt: nil, receivedAt: now, reason: "needs fetch: suspected deleted by sweep \(generation)",
                            headers: [], body: [], url: nil, generation: generation
                        )
                        suspect.awaitingFetch = .suspectedDeleted
                        _ = try EventLog.insert(suspect, db: db)
                    }
                    return (candidates.count, candidates.last?["record_id"])
                }
                proposed += count
                guard let last, count == Self.suspectBatch else { break }
                after = last
            }
        }
        let countOnly = status == .complete && !confirmable
        let extra = proposed
        return try await writeValue { db in
            _ = try Self.runningSweep(generation, lease: lease, holder: holder, db: db)
            // Without api.fetch nothing is proposed: the suspects are only counted, here, in the
            // transaction that ends the sweep (one statement; nothing is written per record).
            let suspects = !countOnly ? extra : try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM records
                WHERE connection = ? AND record_type = ? AND deleted = 0 AND coalesce(generation, 0) < ? AND updated_at < ?
                """, arguments: [sweep.connection, sweep.recordType, generation, sweep.startedAt]) ?? 0
            let note = countOnly && suspects > 0 ? "\(suspects) suspected deletions not confirmed: the manifest has no api.fetch" : error
            try db.execute(sql: "UPDATE sweeps SET status = ?, error = ?, finished_at = ?, extra = ? WHERE generation = ?",
                           arguments: [status.rawValue, note, now, suspects, generation])
            return suspects
        }
    }

    /// Suspected deletions proposed per transaction when a sweep ends.
    static let suspectBatch = 500

    /// The sweep `generation`, checked to be running under a lease `holder` still holds.
    /// - Throws: `.leaseLost` when the lease is gone or the sweep is no longer running; `.notFound`.
    static func runningSweep(_ generation: Int64, lease: String, holder: String, db: Database) throws -> Sweep {
        guard try Bool.fetchOne(db, sql: "SELECT 1 FROM leases WHERE name = ? AND holder = ?", arguments: [lease, holder]) == true else {
            throw StoreError(.leaseLost, "lease \(lease) is no longer held by \(holder)")
        }
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM sweeps WHERE generation = ?", arguments: [generation]) else {
            throw StoreError(.notFound, "no sweep with generation \(generation)")
        }
        let sweep = try Self.sweep(row)
        guard sweep.status == .running else {
            throw StoreError(.leaseLost, "sweep \(generation) already ended \(sweep.status.rawValue)")
        }
        return sweep
    }

    /// Sweeps, newest first.
    public func sweeps(connection: String? = nil, limit: Int = 100) async throws(StoreError) -> [Sweep] {
        try await readValue { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM sweeps WHERE ?1 IS NULL OR connection = ?1 ORDER BY generation DESC LIMIT ?2
                """, arguments: [connection, limit]).map(Self.sweep)
        }
    }

    public func sweep(generation: Int64) async throws(StoreError) -> Sweep? {
        try await readValue { db in try Row.fetchOne(db, sql: "SELECT * FROM sweeps WHERE generation = ?", arguments: [generation]).map(Self.sweep) }
    }

    /// Each resource's latest sweep, in resource order.
    public func latestSweeps(connection: String) async throws(StoreError) -> [Sweep] {
        try await readValue { db in try Self.latestSweeps(connection: connection, db: db) }
    }

    static func latestSweeps(connection: String, db: Database) throws -> [Sweep] {
        try Row.fetchAll(db, sql: """
            SELECT * FROM sweeps WHERE generation IN (SELECT max(generation) FROM sweeps WHERE connection = ? GROUP BY resource)
            ORDER BY resource
            """, arguments: [connection]).map(Self.sweep)
    }

    /// The resource's latest sweep, if it ever had one.
    public func latestSweep(connection: String, resource: String) async throws(StoreError) -> Sweep? {
        try await readValue { db in
            try Row.fetchOne(db, sql: """
                SELECT * FROM sweeps WHERE connection = ? AND resource = ? ORDER BY generation DESC LIMIT 1
                """, arguments: [connection, resource]).map(Self.sweep)
        }
    }

    static func sweep(_ row: Row) throws -> Sweep {
        let cursorText: String = row["cursor"]
        return Sweep(
            generation: row["generation"], connection: row["connection"], resource: row["resource"], recordType: row["record_type"],
            startedAt: row["started_at"], finishedAt: row["finished_at"], status: Sweep.Status(rawValue: row["status"]) ?? .failed,
            error: row["error"], cursor: try JSONDecoder().decode(PollCursor.self, from: Data(cursorText.utf8)),
            pages: row["pages"], seen: row["seen"], missing: row["missing"], stale: row["stale"], extra: row["extra"],
            confirmedDeleted: row["confirmed_deleted"]
        )
    }
}
