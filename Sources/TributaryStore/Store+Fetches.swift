import Foundation
import GRDB
public import TributaryCore

/// Events that wait for the provider's current state: which records to fetch, and what a fetch settled.
extension Store {
    /// Records whose pending events wait for a fetch, one entry per record (a burst of events costs one fetch).
    public func pendingFetches(connection: String? = nil, limit: Int = 100, now: Int64 = .max) async throws(StoreError) -> [PendingFetch] {
        try await readValue { db in
            try Row.fetchAll(db, sql: """
                SELECT connection, tenant, provider, record_type, record_id, group_concat(seq) AS seqs, max(attempts) AS attempts,
                       min(source = 'sweep' OR awaiting_fetch = 'fenced') AS background FROM events
                WHERE status = 'pending' AND \(EventLog.unapplied) AND awaiting_fetch IS NOT NULL AND (?1 IS NULL OR connection = ?1)
                  AND (next_attempt_at IS NULL OR next_attempt_at <= ?3)
                GROUP BY connection, record_type, record_id ORDER BY background, min(seq) LIMIT ?2
                """, arguments: [connection, limit, now]).map { row in
                let seqs: String = row["seqs"]
                return PendingFetch(
                    connection: row["connection"], tenant: row["tenant"], provider: row["provider"], recordType: row["record_type"],
                    recordId: row["record_id"], seqs: seqs.split(separator: ",").compactMap { Int64($0) }, attempts: row["attempts"],
                    background: row["background"]
                )
            }
        }
    }

    /// Appends what a fetch found and marks the events it answers `superseded`, in one transaction.
    public func resolveByFetch(_ draft: EventDraft, resolving seqs: [Int64]) async throws(StoreError) -> AppendResult {
        try await writeValue { db in
            let result = try EventLog.insert(draft, db: db)
            if draft.record?.deleted == true {
                // A sweep's suspicion the provider confirmed: counted on the sweep that raised it, once
                // (only while the suspicion is still pending: a second fetch of it settles nothing).
                let list = seqs.map(String.init).joined(separator: ",")
                try db.execute(sql: """
                    UPDATE sweeps SET confirmed_deleted = confirmed_deleted + 1
                    WHERE generation IN (SELECT generation FROM events WHERE seq IN (\(list)) AND source = 'sweep' AND status = 'pending'
                                         AND type LIKE '%.suspected_deleted')
                    """)
            }
            try Self.supersedePending(seqs, reason: "resolved by fetch (event \(result.seq))", db: db)
            return result
        }
    }

    /// A fetch for these events failed: say why on each (they stay pending for the next pass).
    /// - Parameters:
    ///   - retryAt: when the next attempt may be made (the caller's backoff with jitter).
    ///   - maxAttempts: after this many failed attempts the events become `dead` (listed and replayable).
    /// - Returns: how many events became `dead`.
    @discardableResult
    public func noteFetchFailure(_ seqs: [Int64], reason: String, retryAt: Int64? = nil, maxAttempts: Int = 8) async throws(StoreError) -> Int {
        try await writeValue { db in
            var dead = 0
            for seq in seqs {
                try db.execute(sql: """
                    UPDATE events SET attempts = attempts + 1, next_attempt_at = ?,
                        status = CASE WHEN attempts + 1 >= ? THEN 'dead' ELSE status END,
                        reason = CASE WHEN attempts + 1 >= ? THEN ? ELSE ? END
                    WHERE seq = ? AND status = 'pending'
                    """, arguments: [retryAt, maxAttempts, maxAttempts, "fetch failed \(maxAttempts) times; last: \(reason)", "needs fetch: last attempt failed: \(reason)", seq])
                dead += try Int.fetchOne(db, sql: "SELECT 1 FROM events WHERE seq = ? AND status = 'dead'", arguments: [seq]) ?? 0
            }
            return dead
        }
    }

    /// Settles events that waited on a fetch nobody can make, when what they would verify is
    /// already in the mirror (a page fenced out by a later read): `superseded`, with the reason.
    public func settleUnverified(_ seqs: [Int64], reason: String) async throws(StoreError) {
        try await writeValue { db in try Self.supersedePending(seqs, reason: reason, db: db) }
    }

    /// Marks those of `seqs` still pending `superseded`, with `reason`.
    static func supersedePending(_ seqs: [Int64], reason: String, db: Database) throws {
        for seq in seqs {
            try db.execute(sql: "UPDATE events SET status = 'superseded', reason = ?, awaiting_fetch = NULL WHERE seq = ? AND status = 'pending'", arguments: [reason, seq])
        }
    }
}
