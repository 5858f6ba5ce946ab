import Foundation
import GRDB
public import TributaryCore

extension Store {
    /// Applies pending events to the mirror in log order, each decision made by ``ReconcileDecision``
    /// and written with the event's new status in **one** transaction per batch.
    ///
    /// Compare-and-set by construction: the record is read and written inside the same write
    /// transaction that marks the event, so an event is applied at most once even if the process
    /// dies mid-batch (the batch rolls back and its events are still pending).
    /// Events that need a fetch stay `pending` with a reason; events about no record are `applied`.
    /// - Parameter state: the record state a webhook delivery carries, from its provider, event type
    ///   and body (the caller knows the manifest's `state` pointer); `nil` when it carries none.
    ///   Polled, swept and fetched observations are stored as the record itself, so their body is
    ///   their state and this is not called for them.
    /// - Parameter skipping: providers whose events stay pending untouched (their manifest is invalid,
    ///   so their state cannot be read until it is fixed).
    public func applyPendingEvents(
        limit: Int = 500, connection: String? = nil, skipping: Set<String> = [], now: Int64,
        state: @escaping @Sendable (_ provider: String, _ type: String?, _ body: [UInt8]) -> [UInt8]?
    ) async throws(StoreError) -> ReconcileReport {
        // Everything that can be done before the write transaction is: the batch is read on a reader
        // connection, and each delivery's state (its body parsed) and content hash computed with no
        // lock held. The write transaction then reads the batch again with what the mirror holds
        // (by index, cheap), decides and writes; an event that arrived in between is prepared there.
        // As one text, `,a,b,`, so that the statement stays one cached statement whatever the set.
        let skipped: String? = skipping.isEmpty ? nil : "," + skipping.sorted().joined(separator: ",") + ","
        let candidates = try await readValue { db in try Self.pendingEvents(connection: connection, skipping: skipped, limit: limit, db: db) }
        var prepared: [Int64: PreparedObservation] = [:]
        prepared.reserveCapacity(candidates.count)
        for event in candidates { prepared[event.seq] = Self.prepare(event, state: state) }
        let ready = prepared
        return try await writeValue { db in
            var report = ReconcileReport()
            let events = try Self.pendingEvents(connection: connection, skipping: skipped, limit: limit, db: db)
            // The mirror's change sequence, continued in memory: one writer holds this transaction.
            var nextChange = (try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(change_seq) FROM records")) ?? 0) + 1
            // Prepared once per batch (looking a statement up by its SQL text costs a hash of the text).
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO records (connection, record_type, record_id, tenant, provider, version, deleted, data, content_hash,
                                     version_trusted, pending_regression, updated_at, source_seq, read_fence, generation, change_seq, incarnation)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (connection, record_type, record_id) DO UPDATE SET
                    version = CASE WHEN excluded.version IS NULL AND excluded.deleted = 1 THEN records.version ELSE excluded.version END,
                    deleted = excluded.deleted,
                    data = CASE WHEN excluded.deleted = 1 THEN records.data ELSE excluded.data END,
                    content_hash = excluded.content_hash, version_trusted = excluded.version_trusted,
                    pending_regression = NULL, updated_at = excluded.updated_at, source_seq = excluded.source_seq,
                    read_fence = max(coalesce(excluded.read_fence, 0), coalesce(records.read_fence, 0)), change_seq = excluded.change_seq,
                    generation = max(coalesce(records.generation, 0), coalesce(excluded.generation, 0)),
                    incarnation = coalesce(excluded.incarnation, records.incarnation)
                """)
            // Where the batch's changes are delivered: queued in this transaction (the outbox).
            let destinations = try Self.queuingDestinations(db: db)
            // The policy decides (Core); this loop only executes its actions, in this transaction.
            let observed = events.map { event in ready[event.seq] ?? Self.prepare(event, state: state) }
            let actions = ReconcileBatch.decide(zip(events, observed).map { event, observed in
                PendingObservation(
                    key: event.recordType.flatMap { type in event.recordId.map { MirrorKey(connection: event.connection, recordType: type, recordId: $0) } },
                    observation: Observation(
                        version: event.version, deleted: event.deleted, fullState: event.fullState,
                        contentHash: observed.contentHash, authoritative: event.source == .fetch,
                        // A delivery is pushed, not read: only reads of the provider are ordered by their fence.
                        readFence: event.source == .webhook ? nil : event.readFence, incarnation: event.incarnation
                    ),
                    // A delivery moves the fence to its arrival too: a read sent before it arrived cannot
                    // tell whether it saw the delivered change, so it is read again instead of applied.
                    fence: event.readFence ?? event.receivedAt,
                    held: event.held
                )
            })
            // Settled events are marked together at the end of the batch (same transaction): one
            // statement per outcome instead of one per event.
            var settled = SettledEvents()
            let takesEvents = destinations.contains { $0.kinds.contains(.eventReceived) }
            for ((event, observed), action) in zip(zip(events, observed), actions) {
                if case .awaitFetch = action {} else { report.lags.append(now - event.receivedAt) }
                // The verified event as logged, queued in the transaction that settles it (before the
                // change it makes, so a receiver taking both sees cause before effect).
                if takesEvents {
                    switch action {
                    case .write: try Self.enqueueEvent(event, status: .applied, to: destinations, now: now, db: db)
                    case .settle(let outcome): try Self.enqueueEvent(event, status: outcome.status, to: destinations, now: now, db: db)
                    case .awaitFetch: break
                    }
                }
                switch action {
                case .write(let trusted, let replacing):
                    guard let recordType = event.recordType, let recordId = event.recordId else { continue }
                    if let old = replacing {
                        // The provider reused the id: the record the mirror held is gone. Its deletion is logged
                        // (applied, by this write), so the history says so and not only the new state does.
                        _ = try EventLog.insert(EventDraft(
                            connection: event.connection, tenant: event.tenant, provider: event.provider, source: event.source,
                            eventId: EventID.polled(recordType: recordType, recordId: recordId, tag: "i\(old).gone"),
                            type: "\(recordType).deleted",
                            record: RecordRef(recordType: recordType, recordId: recordId, version: event.held?.version, deleted: true, fullState: false, incarnation: old),
                            occurredAt: nil, receivedAt: now, status: .applied,
                            reason: "id reused: incarnation \(event.incarnation.map(String.init) ?? "?") (event \(event.seq)) replaced this record",
                            headers: [], body: Array("{}".utf8), url: nil
                        ), db: db)
                    }
                    // A delivery's state is where its rule points; a read's is its body, bound as read.
                    let data: Data? = !event.fullState ? nil : event.source == .webhook ? observed.delivered.map { Data($0) } : event.body
                    try upsert.execute(arguments: [
                        event.connection, recordType, recordId, event.tenant, event.provider, event.version, event.deleted,
                        data, observed.contentHash, trusted, now, event.seq,
                        event.readFence ?? event.receivedAt, event.generation, nextChange, event.incarnation,
                    ])
                    if !destinations.isEmpty {
                        try Self.enqueue(ChangedRecord(
                            tenant: event.tenant, connection: event.connection, provider: event.provider, recordType: recordType, recordId: recordId,
                            version: event.version, deleted: event.deleted, data: data, seq: event.seq, changeSeq: nextChange
                        ), to: destinations, now: now, db: db)
                    }
                    nextChange += 1
                    settled.applied += 1
                    report.applied += 1
                case .settle(let outcome):
                    settled.add(event.seq, outcome)
                    switch outcome {
                    case .older: report.superseded += 1
                    case .unchanged: report.unchanged += 1
                    case .noRecord: report.applied += 1
                    }
                case .awaitFetch(let cause, let reason, let regression):
                    if let regression, let recordType = event.recordType, let recordId = event.recordId {
                        try db.execute(sql: "UPDATE records SET pending_regression = ? WHERE connection = ? AND record_type = ? AND record_id = ?",
                                       arguments: [regression, event.connection, recordType, recordId])
                    }
                    try db.execute(sql: "UPDATE events SET reason = ?, awaiting_fetch = ? WHERE seq = ?", arguments: [reason, cause.rawValue, event.seq])
                    report.needFetch += 1
                }
            }
            // Applications are counted in the same transaction as the mirror's write: a crash can never
            // apply an event twice unseen. The other outcomes are marked first, by sequence number.
            for (outcome, seqs) in settled.others where !seqs.isEmpty {
                try db.execute(sql: """
                    UPDATE events SET status = ?, reason = ? WHERE seq IN (\(seqs.map(String.init).joined(separator: ",")))
                    """, arguments: [outcome.status.rawValue, outcome.reason])
            }
            // What remains of the batch's range still pending and not waiting on a fetch is exactly
            // the applied events (the batch read every such event up to its last), so one statement
            // over the range of sequence numbers marks them; it must mark every one and nothing else.
            if let first = events.first?.seq, let last = events.last?.seq, settled.applied > 0 {
                try db.cachedStatement(sql: """
                    UPDATE events SET status = 'applied', reason = NULL, applications = applications + 1
                    WHERE seq BETWEEN ?1 AND ?2 AND status = 'pending' AND (?3 IS NULL OR connection = ?3) AND awaiting_fetch IS NULL
                    """).execute(arguments: [first, last, connection])
                guard db.changesCount == settled.applied else {
                    throw StoreError(.internal, "marked \(db.changesCount) events of \(first)...\(last) applied, expected \(settled.applied)")
                }
            }
            return report
        }
    }

    /// What the apply loop needs of an event's body, computed before its write transaction.
    struct PreparedObservation: Sendable {
        /// The record state a delivery carries (where its rule's state pointer says); `nil` otherwise.
        var delivered: [UInt8]?
        var contentHash: String?
    }

    /// A delivery's state is where its rule points; a read's is its body, bound as read.
    static func prepare(
        _ event: PendingEvent, state: (_ provider: String, _ type: String?, _ body: [UInt8]) -> [UInt8]?
    ) -> PreparedObservation {
        guard event.fullState else { return PreparedObservation(delivered: nil, contentHash: nil) }
        if event.source == .webhook {
            let delivered = state(event.provider, event.type, Array(event.body))
            return PreparedObservation(delivered: delivered, contentHash: delivered.map(hash))
        }
        return PreparedObservation(delivered: nil, contentHash: hash(event.body))
    }

    /// A pending event as the apply loop reads it: only what deciding needs, with what the mirror
    /// held for its record when the batch was read.
    struct PendingEvent: Sendable {
        var seq: Int64
        var connection: String
        var tenant: String
        var provider: String
        var source: EventSource
        var type: String?
        var recordType: String?
        var recordId: String?
        var version: Int64?
        var deleted: Bool
        var fullState: Bool
        var receivedAt: Int64
        var body: Data
        var readFence: Int64?
        var generation: Int64?
        var incarnation: Int64?
        var eventId: String = ""
        var held: MirrorVersion?
    }

    /// The next `limit` pending events in log order (those waiting on a fetch excluded), each joined
    /// to its mirror row: one pass over the log and the mirror's key, read by column position off a
    /// cursor (no row copies). This is the reconciler's hot path.
    static func pendingEvents(connection: String?, skipping: String?, limit: Int, db: Database) throws -> [PendingEvent] {
        var events: [PendingEvent] = []
        events.reserveCapacity(limit)
        let rows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT e.seq, e.connection, e.tenant, e.provider, e.source, e.type, e.record_type, e.record_id, e.version, e.deleted,
                   e.full_state, e.received_at, e.body, e.read_fence, e.generation,
                   r.deleted, r.version, r.content_hash, r.version_trusted, r.pending_regression, r.read_fence,
                   e.incarnation, r.incarnation, e.event_id
            FROM events e LEFT JOIN records r ON r.connection = e.connection AND r.record_type = e.record_type AND r.record_id = e.record_id
            WHERE e.status = 'pending' AND e.\(EventLog.unapplied) AND (?1 IS NULL OR e.connection = ?1)
              AND e.awaiting_fetch IS NULL AND (?3 IS NULL OR instr(?3, ',' || e.provider || ',') = 0) ORDER BY e.seq LIMIT ?2
            """), arguments: [connection, limit, skipping])
        while let row = try rows.next() {
            let heldDeleted: Bool? = row[15]  // NOT NULL in the mirror: NULL means no row
            events.append(PendingEvent(
                seq: row[0], connection: row[1], tenant: row[2], provider: row[3], source: EventSource(rawValue: row[4]) ?? .webhook,
                type: row[5], recordType: row[6], recordId: row[7], version: row[8], deleted: row[9], fullState: row[10],
                receivedAt: row[11], body: row[12], readFence: row[13], generation: row[14], incarnation: row[21], eventId: row[23],
                held: heldDeleted.map { deleted in
                    MirrorVersion(
                        version: row[16], deleted: deleted, contentHash: row[17], versionTrusted: row[18], pendingRegression: row[19],
                        readFence: row[20], incarnation: row[22]
                    )
                }
            ))
        }
        return events
    }

    /// The events of a batch the apply loop settled, by outcome.
    struct SettledEvents {
        /// How many were applied (they are marked by range, so only their number is kept, to check the marking).
        var applied = 0
        var older: [Int64] = []
        var unchanged: [Int64] = []
        var noRecord: [Int64] = []

        mutating func add(_ seq: Int64, _ outcome: Settled) {
            switch outcome {
            case .older: older.append(seq)
            case .unchanged: unchanged.append(seq)
            case .noRecord: noRecord.append(seq)
            }
        }

        /// Every outcome but `applied`, which is marked by range.
        var others: [(Settled, [Int64])] { [(.older, older), (.unchanged, unchanged), (.noRecord, noRecord)] }
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
                    UPDATE events SET status = 'pending', reason = NULL, awaiting_fetch = NULL, attempts = 0, next_attempt_at = NULL
                    WHERE seq = ? AND status != 'pending'
                    """, arguments: [seq])
                replayed += db.changesCount
            }
            return replayed
        }
    }

    /// Gives a quarantined delivery that was unreadable what a fixed manifest now reads from it, and
    /// puts it back to pending; the bytes stay as received.
    ///
    /// - Returns: `nil` when it became pending; the seq of the event already holding its real id when
    ///   the provider's retry was stored meanwhile (this one is then settled as a duplicate of that).
    public func reread(
        seq: Int64, eventId: String, type: String?, record: RecordRef?, occurredAt: Int64?
    ) async throws(StoreError) -> Int64? {
        try await writeValue { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT connection, status FROM events WHERE seq = ?", arguments: [seq]) else {
                throw StoreError(.notFound, "no event with seq \(seq)")
            }
            let connection: String = row["connection"]
            if let existing = try Int64.fetchOne(db, sql: "SELECT seq FROM events WHERE connection = ? AND event_id = ? AND seq != ?",
                                                 arguments: [connection, eventId, seq]) {
                try db.execute(sql: "UPDATE events SET status = 'superseded', reason = ? WHERE seq = ?",
                               arguments: ["read again: a duplicate of seq \(existing)", seq])
                return existing
            }
            try db.execute(sql: """
                UPDATE events SET event_id = ?, type = ?, record_type = ?, record_id = ?, version = ?, deleted = ?, full_state = ?,
                                  occurred_at = ?, status = 'pending', reason = NULL, attempts = 0, next_attempt_at = NULL
                WHERE seq = ?
                """, arguments: [eventId, type, record?.recordType, record?.recordId, record?.version, record?.deleted ?? false,
                                 record?.fullState ?? false, occurredAt, seq])
            return nil
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

    /// A content fingerprint for "same version, same content".
    static func hash(_ bytes: some Sequence<UInt8>) -> String {
        String(fnv1a64(bytes), radix: 16)
    }

    /// Records of a connection, in a stable order.
    /// - Throws: `.notFound` when `connection` names no connection.
    public func records(connection: String, type: String? = nil, updatedAfter: Int64? = nil, limit: Int = 1000) async throws(StoreError) -> [MirrorRecord] {
        try await readValue { db in
            try Self.requireConnection(connection, db: db)
            return try Row.fetchAll(db, sql: """
                SELECT * FROM records WHERE connection = ?1 AND (?2 IS NULL OR record_type = ?2) AND (?3 IS NULL OR updated_at > ?3)
                ORDER BY record_type, record_id LIMIT ?4
                """, arguments: [connection, type, updatedAfter, limit]).map(Self.record)
        }
    }

    public func record(connection: String, type: String, id: String) async throws(StoreError) -> MirrorRecord? {
        try await readValue { db in
            try Self.requireConnection(connection, db: db)
            return try Row.fetchOne(db, sql: "SELECT * FROM records WHERE connection = ? AND record_type = ? AND record_id = ?", arguments: [connection, type, id])
                .map(Self.record)
        }
    }

    static func record(_ row: Row) -> MirrorRecord {
        let data: Data? = row["data"]
        return MirrorRecord(
            connection: row["connection"], tenant: row["tenant"], provider: row["provider"], recordType: row["record_type"],
            recordId: row["record_id"], version: row["version"], deleted: row["deleted"], data: data.map { Array($0) },
            updatedAt: row["updated_at"], sourceSeq: row["source_seq"], incarnation: row["incarnation"]
        )
    }
}
