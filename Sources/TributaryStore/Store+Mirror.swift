import Foundation
import GRDB
public import TributaryCore

/// One record of the mirror, as `records list/get` and the API show it.
public struct MirrorRecord: Sendable, Equatable {
    public var connection: String
    public var tenant: String
    public var provider: String
    public var recordType: String
    public var recordId: String
    public var version: Int64?
    public var deleted: Bool
    public var data: [UInt8]?
    public var updatedAt: Int64
    public var sourceSeq: Int64

    /// The public record shape (DESIGN.md §5).
    public var json: JSONValue {
        .object([
            ("connection", .string(connection)), ("tenant", .string(tenant)), ("provider", .string(provider)),
            ("record_type", .string(recordType)), ("record_id", .string(recordId)),
            ("version", version.map { .number(String($0)) } ?? .null), ("deleted", .bool(deleted)),
            ("data", data.flatMap { JSONValue(parsing: $0) } ?? .null),
            ("updated_at", .string(Timestamp.rfc3339(microseconds: updatedAt))), ("source_seq", .number(String(sourceSeq))),
        ])
    }
}

/// A record whose pending events wait for the provider's current state.
public struct PendingFetch: Sendable, Equatable {
    public var connection: String
    public var tenant: String
    public var provider: String
    public var recordType: String
    public var recordId: String
    public var seqs: [Int64]
    /// Failed attempts so far (the most any of the events has had).
    public var attempts: Int
    /// Whether only a sweep or a verification waits on it (fetched at the lowest priority), not a delivery.
    public var background: Bool
}

/// What the reconciler did with the events of one pass.
public struct ReconcileReport: Sendable, Equatable {
    public var applied = 0
    public var superseded = 0
    public var unchanged = 0
    /// Events whose decision needs the provider's current state (left pending for a fetch).
    public var needFetch = 0
    /// Fetches made (one per record, however many events waited on it) and how many failed.
    public var fetches = 0
    public var fetchFailures = 0

    /// Adds another pass's settled counts (applied, superseded, unchanged) to this one.
    public mutating func addSettled(_ other: ReconcileReport) {
        applied += other.applied
        superseded += other.superseded
        unchanged += other.unchanged
    }

    public init() {}
}

extension Store {
    /// Applies pending events to the mirror in log order, each decision made by ``ReconcileDecision``
    /// and written with the event's new status in **one** transaction per batch.
    ///
    /// Compare-and-set by construction: the record is read and written inside the same write
    /// transaction that marks the event, so an event is applied at most once even if the process
    /// dies mid-batch (the batch rolls back and its events are still pending).
    /// Events that need a fetch stay `pending` with a reason; events about no record are `applied`.
    /// - Parameter state: the record state a webhook delivery carries (the caller knows the manifest's
    ///   `state` pointer); `nil` when it carries none. Polled, swept and fetched observations are
    ///   stored as the record itself, so their body is their state and this is not called for them.
    public func applyPendingEvents(
        limit: Int = 500, connection: String? = nil, now: Int64, state: @escaping @Sendable (StoredEvent) -> [UInt8]?
    ) async throws(StoreError) -> ReconcileReport {
        try await writeValue { db in
            var report = ReconcileReport()
            // Only the columns deciding needs, read by position straight off the statement (a cursor
            // copies no row): this loop is the reconciler's hot path.
            var events: [StoredEvent] = []
            var bodies: [Data] = []  // as read, to bind a polled, swept or fetched state without another copy
            events.reserveCapacity(limit)
            bodies.reserveCapacity(limit)
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT seq, connection, tenant, provider, source, event_id, type, record_type, record_id, version, deleted, full_state,
                       occurred_at, received_at, body, read_fence, generation
                FROM events WHERE status = 'pending' AND (?1 IS NULL OR connection = ?1)
                  AND (reason IS NULL OR reason NOT LIKE 'needs fetch%') ORDER BY seq LIMIT ?2
                """), arguments: [connection, limit])
            while let row = try rows.next() {
                let body: Data = row[14]
                bodies.append(body)
                events.append(Self.pendingEvent(row, body: body))
            }
            // The mirror's change sequence, continued in memory: one writer holds this transaction.
            var nextChange = (try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(change_seq) FROM records")) ?? 0) + 1
            // Prepared once per batch (looking a statement up by its SQL text costs a hash of the text).
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO records (connection, record_type, record_id, tenant, provider, version, deleted, data, content_hash,
                                     version_trusted, pending_regression, updated_at, source_seq, read_fence, generation, change_seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)
                ON CONFLICT (connection, record_type, record_id) DO UPDATE SET
                    version = CASE WHEN excluded.version IS NULL AND excluded.deleted = 1 THEN records.version ELSE excluded.version END,
                    deleted = excluded.deleted,
                    data = CASE WHEN excluded.deleted = 1 THEN records.data ELSE excluded.data END,
                    content_hash = excluded.content_hash, version_trusted = excluded.version_trusted,
                    pending_regression = NULL, updated_at = excluded.updated_at, source_seq = excluded.source_seq,
                    read_fence = max(coalesce(excluded.read_fence, 0), coalesce(records.read_fence, 0)), change_seq = excluded.change_seq,
                    generation = max(coalesce(records.generation, 0), coalesce(excluded.generation, 0))
                """)
            // Settled events are marked together at the end of the batch (same transaction): one
            // statement per outcome instead of one per event.
            var settled: [Settled: [Int64]] = [:]
            // What the mirror holds for every record of the batch, read at once and kept current in
            // memory as the batch applies (a later event of a record sees what an earlier one wrote).
            var held = try Self.mirrorVersions(of: events, db: db)
            held.reserveCapacity(events.count)
            for (index, event) in events.enumerated() {
                guard let recordType = event.recordType, let recordId = event.recordId else {
                    settled[.noRecord, default: []].append(event.seq)
                    report.applied += 1
                    continue
                }
                let key = MirrorKey(connection: event.connection, recordType: recordType, recordId: recordId)
                let current = held[key]
                let state = !event.fullState ? nil : event.source == .webhook ? state(event) : event.body
                let contentHash = state.map(Self.hash)
                let readFence = event.readFence ?? event.receivedAt
                let observation = Observation(
                    version: event.version, deleted: event.deleted, fullState: event.fullState,
                    contentHash: contentHash, authoritative: event.source == .fetch,
                    // A delivery is pushed, not read: only reads of the provider are ordered by their fence.
                    readFence: event.source == .webhook ? nil : event.readFence
                )
                let decision = ReconcileDecision.decide(current: current, observation: observation)
                switch decision {
                case .apply, .tombstone, .acceptRegression:
                    let trusted = decision != .acceptRegression && (current?.versionTrusted ?? true)
                    try upsert.execute(arguments: [
                        event.connection, recordType, recordId, event.tenant, event.provider, event.version, event.deleted,
                        state.map { event.source == .webhook ? Data($0) : bodies[index] }, contentHash, trusted, now, event.seq,
                        // A delivery moves the fence to its arrival too: a read sent before it arrived cannot
                        // tell whether it saw the delivered change, so it is read again instead of applied.
                        readFence, event.generation, nextChange,
                    ])
                    nextChange += 1
                    held[key] = MirrorVersion(
                        version: event.version == nil && event.deleted ? current?.version : event.version, deleted: event.deleted,
                        contentHash: contentHash, versionTrusted: trusted, pendingRegression: nil,
                        readFence: max(readFence, current?.readFence ?? 0)
                    )
                    settled[.applied, default: []].append(event.seq)
                    report.applied += 1
                case .supersede:
                    settled[.older, default: []].append(event.seq)
                    report.superseded += 1
                case .unchanged:
                    settled[.unchanged, default: []].append(event.seq)
                    report.unchanged += 1
                case .fetch(let why):
                    if case .confirmRegression(let lower) = why {
                        try db.execute(sql: "UPDATE records SET pending_regression = ? WHERE connection = ? AND record_type = ? AND record_id = ?",
                                       arguments: [lower, event.connection, recordType, recordId])
                        held[key]?.pendingRegression = lower
                    }
                    try db.execute(sql: "UPDATE events SET reason = ? WHERE seq = ?", arguments: ["needs fetch: \(why)", event.seq])
                    report.needFetch += 1
                }
            }
            for (outcome, seqs) in settled {
                // Applications are counted in the same transaction as the mirror's write: a crash can never apply an event twice unseen.
                try db.execute(sql: """
                    UPDATE events SET status = ?, reason = ?, applications = applications + ? WHERE seq IN (\(seqs.map(String.init).joined(separator: ",")))
                    """, arguments: [outcome.status.rawValue, outcome.reason, outcome == .applied ? 1 : 0])
            }
            return report
        }
    }

    /// What the mirror holds for each record `events` are about, in one query per (connection, type).
    static func mirrorVersions(of events: [StoredEvent], db: Database) throws -> [MirrorKey: MirrorVersion] {
        var ids: [MirrorKey: Set<String>] = [:]
        for event in events {
            guard let type = event.recordType, let id = event.recordId else { continue }
            ids[MirrorKey(connection: event.connection, recordType: type, recordId: ""), default: []].insert(id)
        }
        var held: [MirrorKey: MirrorVersion] = [:]
        held.reserveCapacity(events.count)
        for (group, recordIds) in ids {
            let all = Array(recordIds)
            // In chunks that stay far below SQLite's limit on bound parameters.
            for start in stride(from: 0, to: all.count, by: 500) {
                let chunk = Array(all[start..<min(start + 500, all.count)])
                var arguments: StatementArguments = [group.connection, group.recordType]
                arguments += StatementArguments(chunk)
                for r in try Row.fetchAll(db, sql: """
                    SELECT record_id, version, deleted, content_hash, version_trusted, pending_regression, read_fence FROM records
                    WHERE connection = ? AND record_type = ? AND record_id IN (\(Array(repeating: "?", count: chunk.count).joined(separator: ",")))
                    """, arguments: arguments) {
                    held[MirrorKey(connection: group.connection, recordType: group.recordType, recordId: r[0])] = MirrorVersion(
                        version: r[1], deleted: r[2], contentHash: r[3], versionTrusted: r[4], pendingRegression: r[5], readFence: r[6]
                    )
                }
            }
        }
        return held
    }

    /// How an event the apply loop settled is marked.
    enum Settled: Hashable {
        case applied, older, unchanged, noRecord

        var status: EventStatus { self == .older ? .superseded : .applied }
        var reason: String? {
            switch self {
            case .applied: nil
            case .older: "older than the mirror's version"
            case .unchanged: "same version and content as the mirror"
            case .noRecord: "no mirror record"
            }
        }
    }

    /// Records whose pending events wait for a fetch, one entry per record (a burst of events costs one fetch).
    public func pendingFetches(connection: String? = nil, limit: Int = 100, now: Int64 = .max) async throws(StoreError) -> [PendingFetch] {
        try await readValue { db in
            try Row.fetchAll(db, sql: """
                SELECT connection, tenant, provider, record_type, record_id, group_concat(seq) AS seqs, max(attempts) AS attempts,
                       min(source = 'sweep' OR reason LIKE 'needs fetch: fenced%') AS background FROM events
                WHERE status = 'pending' AND reason LIKE 'needs fetch%' AND (?1 IS NULL OR connection = ?1)
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
            try db.execute(sql: "UPDATE events SET status = 'superseded', reason = ? WHERE seq = ? AND status = 'pending'", arguments: [reason, seq])
        }
    }

    /// Puts events back to `pending` (dead, failed, quarantined or already settled ones) so the reconciler sees them again.
    /// - Throws: `.notFound` naming the first sequence number that is not in the log.
    public func replayEvents(_ seqs: [Int64]) async throws(StoreError) -> Int {
        try await writeValue { db in
            var replayed = 0
            for seq in seqs {
                guard try Bool.fetchOne(db, sql: "SELECT 1 FROM events WHERE seq = ?", arguments: [seq]) == true else {
                    throw StoreError(.notFound, "no event with seq \(seq)")
                }
                try db.execute(sql: """
                    UPDATE events SET status = 'pending', reason = NULL, attempts = 0, next_attempt_at = NULL WHERE seq = ? AND status != 'pending'
                    """, arguments: [seq])
                replayed += db.changesCount
            }
            return replayed
        }
    }

    /// How many times each event was applied to the mirror (at most once, unless replayed).
    public func applications(seqs: [Int64]? = nil) async throws(StoreError) -> [Int64: Int] {
        try await readValue { db in
            var counts: [Int64: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT seq, applications FROM events") { counts[row["seq"]] = row["applications"] }
            if let seqs { return counts.filter { seqs.contains($0.key) } }
            return counts
        }
    }

    /// A pending event as the apply loop reads it (no headers or URL: deciding never needs them).
    static func pendingEvent(_ row: Row, body: Data) -> StoredEvent {
        StoredEvent(
            seq: row[0], connection: row[1], tenant: row[2], provider: row[3], source: EventSource(rawValue: row[4]) ?? .webhook,
            eventId: row[5], type: row[6], recordType: row[7], recordId: row[8], version: row[9], deleted: row[10], fullState: row[11],
            occurredAt: row[12], receivedAt: row[13], status: .pending, reason: nil, headers: [], body: Array(body), url: nil,
            readFence: row[15], generation: row[16]
        )
    }

    /// A content fingerprint for "same version, same content".
    static func hash(_ bytes: [UInt8]) -> String {
        String(fnv1a64(bytes), radix: 16)
    }

    /// Records of a connection, in a stable order.
    public func records(connection: String, type: String? = nil, updatedAfter: Int64? = nil, limit: Int = 1000) async throws(StoreError) -> [MirrorRecord] {
        try await readValue { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM records WHERE connection = ?1 AND (?2 IS NULL OR record_type = ?2) AND (?3 IS NULL OR updated_at > ?3)
                ORDER BY record_type, record_id LIMIT ?4
                """, arguments: [connection, type, updatedAfter, limit]).map(Self.record)
        }
    }

    public func record(connection: String, type: String, id: String) async throws(StoreError) -> MirrorRecord? {
        try await readValue { db in
            try Row.fetchOne(db, sql: "SELECT * FROM records WHERE connection = ? AND record_type = ? AND record_id = ?", arguments: [connection, type, id])
                .map(Self.record)
        }
    }

    static func record(_ row: Row) -> MirrorRecord {
        let data: Data? = row["data"]
        return MirrorRecord(
            connection: row["connection"], tenant: row["tenant"], provider: row["provider"], recordType: row["record_type"],
            recordId: row["record_id"], version: row["version"], deleted: row["deleted"], data: data.map { Array($0) },
            updatedAt: row["updated_at"], sourceSeq: row["source_seq"]
        )
    }
}
