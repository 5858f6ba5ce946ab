import Foundation
import GRDB
public import TributaryCore

/// Destinations: where every change is delivered, with their signing secrets sealed.
extension Store {
    public func addDestination(
        id: String, url: String, tenant: String?, connection: String?, kinds: [Destination.Kind], recordTypes: [String], secret: String, now: Int64
    ) async throws(StoreError) -> Destination {
        let blob = try box.seal(secret)
        let fingerprint = box.fingerprint(secret)
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM destinations WHERE id = ?", arguments: [id]) == true {
                throw StoreError(.conflict, "destination \(id) already exists")
            }
            try db.execute(sql: """
                INSERT INTO destinations (id, url, tenant, connection, kinds, record_types, state, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?)
                """, arguments: [id, url, tenant, connection, kinds.map(\.rawValue).joined(separator: ","), recordTypes.joined(separator: ","), now, now])
            try db.execute(sql: "INSERT INTO destination_secrets (destination, sealed, fingerprint, added_at) VALUES (?, ?, ?, ?)",
                           arguments: [id, blob, fingerprint, now])
        }
        guard let destination = try await destination(id: id) else { throw StoreError(.internal, "destination \(id) vanished after insert") }
        return destination
    }

    public func destinations() async throws(StoreError) -> [Destination] {
        try await readValue { db in try Self.destinations(db: db) }
    }

    public func destination(id: String) async throws(StoreError) -> Destination? {
        try await readValue { db in try Self.destinations(db: db, id: id).first }
    }

    static func destinations(db: Database, id: String? = nil) throws -> [Destination] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT d.*, (SELECT group_concat(fingerprint, ',') FROM (
                SELECT fingerprint FROM destination_secrets s WHERE s.destination = d.id AND s.retired_at IS NULL ORDER BY s.id)) AS fingerprints
            FROM destinations d WHERE ?1 IS NULL OR d.id = ?1 ORDER BY d.id
            """, arguments: [id])
        return rows.map { row in
            let kinds: String = row["kinds"]
            let types: String = row["record_types"]
            let fingerprints: String? = row["fingerprints"]
            return Destination(
                id: row["id"], url: row["url"], tenant: row["tenant"], connection: row["connection"],
                kinds: kinds.split(separator: ",").compactMap { Destination.Kind(rawValue: String($0)) },
                recordTypes: types.split(separator: ",").map(String.init),
                state: Destination.State(rawValue: row["state"]) ?? .disabled, reason: row["reason"],
                secretFingerprints: fingerprints?.split(separator: ",").map(String.init) ?? [],
                failingSince: row["failing_since"], createdAt: row["created_at"]
            )
        }
    }

    /// The destination's active signing secrets, oldest first: each delivery is signed with all of them.
    public func destinationSecrets(id: String) async throws(StoreError) -> [String] {
        let sealed = try await readValue { db in
            try Data.fetchAll(db, sql: "SELECT sealed FROM destination_secrets WHERE destination = ? AND retired_at IS NULL ORDER BY id", arguments: [id])
        }
        var secrets: [String] = []
        for blob in sealed { secrets.append(try box.open(blob)) }
        return secrets
    }

    /// Adds a signing secret; with `retireOthers`, the ones before it stop signing at once (otherwise
    /// both sign until ``retireDestinationSecrets(id:keeping:now:)``, so the receiver can switch).
    public func addDestinationSecret(id: String, secret: String, now: Int64) async throws(StoreError) {
        let blob = try box.seal(secret)
        let fingerprint = box.fingerprint(secret)
        try await write { db in
            try Self.requireDestination(id, db: db)
            try db.execute(sql: "INSERT INTO destination_secrets (destination, sealed, fingerprint, added_at) VALUES (?, ?, ?, ?)",
                           arguments: [id, blob, fingerprint, now])
        }
    }

    /// Retires every active secret but the newest.
    /// - Returns: how many were retired.
    @discardableResult
    public func retireOlderDestinationSecrets(id: String, now: Int64) async throws(StoreError) -> Int {
        try await writeValue { db in
            try Self.requireDestination(id, db: db)
            try db.execute(sql: """
                UPDATE destination_secrets SET retired_at = ? WHERE destination = ? AND retired_at IS NULL
                    AND id < (SELECT max(id) FROM destination_secrets WHERE destination = ? AND retired_at IS NULL)
                """, arguments: [now, id, id])
            return db.changesCount
        }
    }

    /// Pauses, resumes or disables a destination. Resuming one also clears its failure clock, and
    /// puts its dead deliveries back only when asked (`deliveries retry`).
    public func setDestinationState(id: String, _ state: Destination.State, reason: String?, now: Int64) async throws(StoreError) {
        try await write { db in
            try Self.requireDestination(id, db: db)
            try db.execute(sql: """
                UPDATE destinations SET state = ?, reason = ?, failing_since = CASE WHEN ? = 'active' THEN NULL ELSE failing_since END, updated_at = ?
                WHERE id = ?
                """, arguments: [state.rawValue, reason, state.rawValue, now, id])
        }
    }

    /// Removes a destination with its secrets and deliveries.
    /// - Returns: how many deliveries were still pending.
    public func removeDestination(id: String) async throws(StoreError) -> Int {
        try await writeValue { db in
            try Self.requireDestination(id, db: db)
            let pending = try Int.fetchOne(db, sql: "SELECT count(*) FROM deliveries WHERE destination = ? AND status = 'pending'", arguments: [id]) ?? 0
            try db.execute(sql: "DELETE FROM deliveries WHERE destination = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM destination_secrets WHERE destination = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM destinations WHERE id = ?", arguments: [id])
            return pending
        }
    }

    static func requireDestination(_ id: String, db: Database) throws {
        guard try Bool.fetchOne(db, sql: "SELECT 1 FROM destinations WHERE id = ?", arguments: [id]) == true else {
            throw StoreError(.notFound, "no destination \(id)")
        }
    }
}
