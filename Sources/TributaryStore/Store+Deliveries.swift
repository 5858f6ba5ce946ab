import Foundation
import GRDB
public import TributaryCore

/// The outbox: deliveries written with the change they carry, sent by the delivery workers.
extension Store {
    /// A mirror write as the outbox needs it, inside the apply transaction.
    struct ChangedRecord {
        var tenant: String
        var connection: String
        var provider: String
        var recordType: String
        var recordId: String
        var version: Int64?
        var deleted: Bool
        var data: Data?
        var seq: Int64
        var changeSeq: Int64
    }

    /// Queues one `record.changed` per destination that takes it. Called in the apply transaction,
    /// so the row commits (or rolls back) with the change.
    static func enqueue(_ change: ChangedRecord, to destinations: [Destination], now: Int64, db: Database) throws {
        var payload: [UInt8]?
        for destination in destinations where destination.takes(.recordChanged, tenant: change.tenant, connection: change.connection, recordType: change.recordType) {
            if payload == nil { payload = Self.recordChangedPayload(change, now: now) }
            try Self.insertDelivery(
                destination: destination.id, kind: .recordChanged, tenant: change.tenant, connection: change.connection, provider: change.provider,
                recordType: change.recordType, recordId: change.recordId, version: change.version, seq: change.seq, payload: payload ?? [],
                lane: "live", now: now, db: db
            )
        }
    }

    /// Queues one `event.received` per destination that takes it: the verified event as it was logged.
    static func enqueueEvent(_ event: PendingEvent, status: EventStatus, to destinations: [Destination], now: Int64, db: Database) throws {
        var payload: [UInt8]?
        for destination in destinations where destination.takes(.eventReceived, tenant: event.tenant, connection: event.connection, recordType: event.recordType) {
            if payload == nil {
                let body: JSONValue = JSONValue(parsing: Array(event.body)) ?? .string(String(decoding: event.body, as: UTF8.self))
                let data: JSONValue = .object([
                    ("tenant", .string(event.tenant)), ("connection", .string(event.connection)), ("provider", .string(event.provider)),
                    ("seq", .number(String(event.seq))), ("event_id", .string(event.eventId)), ("event_type", event.type.map(JSONValue.string) ?? .null),
                    ("source", .string(event.source.rawValue)), ("status", .string(status.rawValue)),
                    ("received_at", .string(Timestamp.rfc3339(microseconds: event.receivedAt))),
                    ("record_type", event.recordType.map(JSONValue.string) ?? .null), ("record_id", event.recordId.map(JSONValue.string) ?? .null),
                    ("version", event.version.map { .number(String($0)) } ?? .null), ("deleted", .bool(event.deleted)), ("body", body),
                ])
                payload = Array(JSONValue.object([
                    ("type", .string(Destination.Kind.eventReceived.rawValue)), ("timestamp", .string(Timestamp.rfc3339(microseconds: now))), ("data", data),
                ]).jsonText.utf8)
            }
            try Self.insertDelivery(
                destination: destination.id, kind: .eventReceived, tenant: event.tenant, connection: event.connection, provider: event.provider,
                recordType: event.recordType, recordId: event.recordId, version: event.version, seq: event.seq, payload: payload ?? [],
                lane: "live", now: now, db: db
            )
        }
    }

    /// One pending delivery, due now, with a new `webhook-id`: the outbox's only insert.
    static func insertDelivery(
        destination: String, kind: Destination.Kind, tenant: String, connection: String, provider: String, recordType: String?, recordId: String?,
        version: Int64?, seq: Int64, payload: [UInt8], lane: String, now: Int64, db: Database
    ) throws {
        try db.cachedStatement(sql: """
            INSERT INTO deliveries (destination, kind, webhook_id, tenant, connection, provider, record_type, record_id, version, seq,
                                    payload, status, attempts, next_attempt_at, created_at, lane)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)
            """).execute(arguments: [
                destination, kind.rawValue, webhookID(), tenant, connection, provider, recordType, recordId, version, seq, Data(payload), now, now, lane,
            ])
    }

    /// `{"type":"record.changed","timestamp":…,"data":{…}}`: the record as the mirror now holds it.
    static func recordChangedPayload(_ change: ChangedRecord, now: Int64) -> [UInt8] {
        let state: JSONValue = change.deleted ? .null : change.data.flatMap { JSONValue(parsing: Array($0)) } ?? .null
        let data: JSONValue = .object([
            ("tenant", .string(change.tenant)), ("connection", .string(change.connection)), ("provider", .string(change.provider)),
            ("record_type", .string(change.recordType)), ("record_id", .string(change.recordId)),
            ("version", change.version.map { .number(String($0)) } ?? .null), ("deleted", .bool(change.deleted)),
            ("data", state), ("seq", .number(String(change.seq))), ("change_seq", .number(String(change.changeSeq))),
        ])
        let message: JSONValue = .object([
            ("type", .string(Destination.Kind.recordChanged.rawValue)), ("timestamp", .string(Timestamp.rfc3339(microseconds: now))), ("data", data),
        ])
        return Array(message.jsonText.utf8)
    }

    /// `msg_` and 16 random bytes in hex: the same on every attempt of the delivery.
    static func webhookID() -> String {
        var generator = SystemRandomNumberGenerator()
        return "msg_" + (0..<2).map { _ in String(generator.next() as UInt64, radix: 16).leftPadded(to: 16) }.joined()
    }

    /// The destinations a batch queues for (read in its transaction): all of them, paused and disabled
    /// ones too, so that `resume` sends every change made meanwhile.
    static func queuingDestinations(db: Database) throws -> [Destination] {
        try destinations(db: db)
    }

    /// Deliveries due now: per record, only its oldest pending one, and not one of a record in `busy`
    /// (being sent), so a record's deliveries leave one at a time, in order. Live ones first; at most
    /// `replays` of the replay lane.
    public func dueDeliveries(destination: String, now: Int64, limit: Int, replays: Int = .max, busy: Set<String>) async throws(StoreError) -> [Delivery] {
        let rows = try await readValue { db in
            try Row.fetchAll(db, sql: """
                SELECT d.* FROM deliveries d
                WHERE d.destination = ?1 AND d.status = 'pending' AND d.next_attempt_at <= ?2
                  AND d.id = (SELECT min(e.id) FROM deliveries e WHERE e.destination = d.destination AND e.status = 'pending'
                              AND e.connection = d.connection AND e.record_type IS d.record_type AND e.record_id IS d.record_id)
                ORDER BY d.lane = 'replay', d.id LIMIT ?3
                """, arguments: [destination, now, limit + busy.count]).map { (Self.delivery($0), ($0["lane"] as String) == "replay") }
        }
        var taken: [Delivery] = []
        var replayed = 0
        for (delivery, replay) in rows where !busy.contains(delivery.recordKey) && taken.count < limit {
            if replay {
                guard replayed < replays else { continue }
                replayed += 1
            }
            taken.append(delivery)
        }
        return taken
    }

    /// Queues the mirror's current state again for `destination`, on the replay lane: every record it
    /// takes that changed at or after `since` (µs), or whose change came from a log sequence after
    /// `afterSeq`. Each is a new delivery (a new `webhook-id`) of the record as the mirror holds it now.
    /// - Returns: how many were queued.
    public func replayDeliveries(destination id: String, since: Int64?, afterSeq: Int64?, now: Int64) async throws(StoreError) -> Int {
        try await writeValue { db in
            guard let destination = try Self.destinations(db: db, id: id).first else { throw StoreError(.notFound, "no destination \(id)") }
            let rows = try Row.fetchAll(db, sql: """
                SELECT connection, record_type, record_id, tenant, provider, version, deleted, data, source_seq, change_seq FROM records
                WHERE (?1 IS NULL OR updated_at >= ?1) AND (?2 IS NULL OR source_seq > ?2) AND (?3 IS NULL OR tenant = ?3) AND (?4 IS NULL OR connection = ?4)
                ORDER BY change_seq
                """, arguments: [since, afterSeq, destination.tenant, destination.connection])
            var queued = 0
            for row in rows {
                let change = ChangedRecord(
                    tenant: row["tenant"], connection: row["connection"], provider: row["provider"], recordType: row["record_type"],
                    recordId: row["record_id"], version: row["version"], deleted: row["deleted"], data: row["data"], seq: row["source_seq"],
                    changeSeq: row["change_seq"] ?? 0
                )
                guard destination.takes(.recordChanged, tenant: change.tenant, connection: change.connection, recordType: change.recordType) else { continue }
                try Self.insertDelivery(
                    destination: destination.id, kind: .recordChanged, tenant: change.tenant, connection: change.connection, provider: change.provider,
                    recordType: change.recordType, recordId: change.recordId, version: change.version, seq: change.seq,
                    payload: Self.recordChangedPayload(change, now: now), lane: "replay", now: now, db: db
                )
                queued += 1
            }
            return queued
        }
    }

    /// One attempt's result: taken (2xx), or failed with the time of the next try (`nil`: dead).
    public struct DeliveryAttempt: Sendable {
        public var delivery: Int64
        public var destination: String
        public var status: Int?
        public var error: String?
        public var response: String?
        public var nextAttemptAt: Int64?
        public var at: Int64

        public var delivered: Bool { status.map { (200..<300).contains($0) } ?? false }

        public init(delivery: Int64, destination: String, status: Int?, error: String?, response: String?, nextAttemptAt: Int64?, at: Int64) {
            self.delivery = delivery
            self.destination = destination
            self.status = status
            self.error = error
            self.response = response
            self.nextAttemptAt = nextAttemptAt
            self.at = at
        }
    }

    /// Records a round of attempts in one transaction (one commit, not one per delivery).
    public func recordDeliveryAttempts(_ attempts: [DeliveryAttempt]) async throws(StoreError) {
        guard !attempts.isEmpty else { return }
        try await write { db in
            let delivered = try db.cachedStatement(sql: """
                UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, last_status = ?, last_error = NULL, last_response = ?,
                    delivered_at = ?, next_attempt_at = NULL WHERE id = ?
                """)
            let failed = try db.cachedStatement(sql: """
                UPDATE deliveries SET status = ?, attempts = attempts + 1, last_status = ?, last_error = ?, last_response = ?, next_attempt_at = ?
                WHERE id = ?
                """)
            for attempt in attempts {
                if attempt.delivered {
                    try delivered.execute(arguments: [attempt.status, attempt.response, attempt.at, attempt.delivery])
                } else {
                    try failed.execute(arguments: [
                        attempt.nextAttemptAt == nil ? "dead" : "pending", attempt.status, attempt.error, attempt.response, attempt.nextAttemptAt, attempt.delivery,
                    ])
                }
            }
            // A destination fails "continuously" from its first failure after its last success.
            for (destination, results) in Dictionary(grouping: attempts, by: \.destination) {
                if results.contains(where: \.delivered) {
                    try db.execute(sql: "UPDATE destinations SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL", arguments: [destination])
                } else {
                    try db.execute(sql: "UPDATE destinations SET failing_since = coalesce(failing_since, ?) WHERE id = ?",
                                   arguments: [results.map(\.at).min(), destination])
                }
            }
        }
    }

    /// Deliveries newest first; `before` pages on (the id of the last one seen).
    public func deliveries(destination: String? = nil, status: Delivery.Status? = nil, before: Int64? = nil, limit: Int = 100) async throws(StoreError) -> [Delivery] {
        try await readValue { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM deliveries WHERE (?1 IS NULL OR destination = ?1) AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR id < ?3)
                ORDER BY id DESC LIMIT ?4
                """, arguments: [destination, status?.rawValue, before, limit]).map(Self.delivery)
        }
    }

    public func delivery(id: Int64) async throws(StoreError) -> Delivery? {
        try await readValue { db in try Row.fetchOne(db, sql: "SELECT * FROM deliveries WHERE id = ?", arguments: [id]).map(Self.delivery) }
    }

    /// Sends deliveries again from the start of the schedule: `ids`, or every dead one of `destination`.
    /// - Returns: how many were put back.
    public func retryDeliveries(ids: [Int64], destination: String?, now: Int64) async throws(StoreError) -> Int {
        try await writeValue { db in
            if let destination {
                try Self.requireDestination(destination, db: db)
                try db.execute(sql: """
                    UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE destination = ? AND status = 'dead' AND \(Self.notSuperseded)
                    """, arguments: [now, destination])
                return db.changesCount
            }
            var count = 0
            for id in ids {
                try db.execute(sql: """
                    UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE id = ? AND status = 'dead' AND \(Self.notSuperseded)
                    """, arguments: [now, id])
                count += db.changesCount
            }
            return count
        }
    }

    /// How late a destination's deliveries are: the lag (outbox row written → receiver's 2xx recorded)
    /// of the last 10,000 delivered since `since`, as p50 and p99 in microseconds, and the age of the
    /// oldest pending one.
    public func deliveryLag(destination: String, since: Int64, now: Int64) async throws(StoreError) -> (p50: Int64?, p99: Int64?, delivered: Int, oldestPending: Int64?) {
        try await readValue { db in
            let lags = try Int64.fetchAll(db, sql: """
                SELECT delivered_at - created_at FROM deliveries WHERE destination = ? AND status = 'delivered' AND delivered_at >= ?
                ORDER BY id DESC LIMIT 10000
                """, arguments: [destination, since]).sorted()
            let oldest = try Int64.fetchOne(db, sql: "SELECT min(created_at) FROM deliveries WHERE destination = ? AND status = 'pending'", arguments: [destination])
            func percentile(_ p: Double) -> Int64? { lags.isEmpty ? nil : lags[min(lags.count - 1, Int(Double(lags.count - 1) * p))] }
            return (percentile(0.5), percentile(0.99), lags.count, oldest.map { now - $0 })
        }
    }

    /// A dead delivery is sent again only if no later one of its record was delivered since: its state
    /// would roll the receiver's copy back (`deliveries replay` sends the current state instead).
    static let notSuperseded = """
        NOT EXISTS (SELECT 1 FROM deliveries n WHERE n.destination = deliveries.destination AND n.connection = deliveries.connection
                    AND n.record_type IS deliveries.record_type AND n.record_id IS deliveries.record_id AND n.id > deliveries.id
                    AND n.status = 'delivered')
        """

    /// Pending and dead deliveries per destination, for `status` and `destinations list`: each count
    /// reads only its own partial index, never the delivered rows.
    public func deliveryCounts() async throws(StoreError) -> [String: (pending: Int, dead: Int)] {
        try await readValue { db in
            var counts: [String: (pending: Int, dead: Int)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT destination, count(*) AS n FROM deliveries WHERE status = 'pending' GROUP BY destination") {
                counts[row["destination"], default: (0, 0)].pending = row["n"]
            }
            for row in try Row.fetchAll(db, sql: "SELECT destination, count(*) AS n FROM deliveries WHERE status = 'dead' GROUP BY destination") {
                counts[row["destination"], default: (0, 0)].dead = row["n"]
            }
            return counts
        }
    }

    /// Deletes delivered deliveries older than `deliveredBefore` (their `delivered_at`) and dead ones
    /// older than `deadBefore` (their `created_at`), at most `limit` rows in one short transaction, so
    /// intake never waits long behind it. A delivered row that still keeps an older dead one of its
    /// record from being retried (``notSuperseded``) stays until that dead one goes.
    /// - Returns: how many rows were deleted (less than `limit`: nothing more is due).
    public func pruneDeliveries(deliveredBefore: Int64, deadBefore: Int64, limit: Int = 2000) async throws(StoreError) -> Int {
        try await writeValue { db in
            try db.execute(sql: """
                DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE status = 'dead' AND created_at < ? LIMIT ?)
                """, arguments: [deadBefore, limit])
            var deleted = db.changesCount
            try db.execute(sql: """
                DELETE FROM deliveries WHERE id IN (
                    SELECT d.id FROM deliveries d WHERE d.status = 'delivered' AND d.delivered_at < ?
                      AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.status = 'dead' AND x.destination = d.destination
                                      AND x.connection = d.connection AND x.record_type IS d.record_type AND x.record_id IS d.record_id
                                      AND x.id < d.id)
                    LIMIT ?)
                """, arguments: [deliveredBefore, max(0, limit - deleted)])
            deleted += db.changesCount
            return deleted
        }
    }

    static func delivery(_ row: Row) -> Delivery {
        let payload: Data = row["payload"]
        return Delivery(
            id: row["id"], destination: row["destination"], kind: Destination.Kind(rawValue: row["kind"]) ?? .recordChanged,
            webhookID: row["webhook_id"], tenant: row["tenant"], connection: row["connection"], provider: row["provider"],
            recordType: row["record_type"], recordId: row["record_id"], version: row["version"], seq: row["seq"],
            status: Delivery.Status(rawValue: row["status"]) ?? .pending, attempts: row["attempts"], nextAttemptAt: row["next_attempt_at"],
            lastStatus: row["last_status"], lastError: row["last_error"], lastResponse: row["last_response"], createdAt: row["created_at"],
            deliveredAt: row["delivered_at"], payload: Array(payload)
        )
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
