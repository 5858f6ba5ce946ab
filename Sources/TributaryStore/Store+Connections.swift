import Foundation
import GRDB
public import TributaryCore

import Synchronization

/// The connections facet: connections with their sealed webhook secrets, and their removal.
extension Store {
    /// Creates a connection; its id must be new.
    public func addConnection(
        id: String, provider: String, tenant: String, account: String?, app: String? = nil, toleranceSeconds: Int?,
        webhookSecrets: [String], now: Int64
    ) async throws(StoreError) -> Connection {
        defer { forgetCachedConnections() }
        let sealed = try webhookSecrets.map { secret throws(StoreError) in (try box.seal(secret), box.fingerprint(secret)) }
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM connections WHERE id = ?", arguments: [id]) == true {
                throw StoreError(.conflict, "connection \(id) already exists")
            }
            if let app {
                try Self.checkAppMembership(app: app, provider: provider, account: account, db: db)
            }
            try db.execute(sql: """
                INSERT INTO connections (id, provider, tenant, account, app, tolerance_seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, provider, tenant, account, app, toleranceSeconds, now])
            for (blob, fingerprint) in sealed {
                try db.execute(sql: """
                    INSERT INTO connection_secrets (connection, purpose, sealed, fingerprint, added_at) VALUES (?, 'webhook', ?, ?, ?)
                    """, arguments: [id, blob, fingerprint, now])
            }
        }
        guard let connection = try await connection(id: id) else { throw StoreError(.internal, "connection \(id) vanished after insert") }
        return connection
    }

    /// Throws `.notFound` ("no connection X") unless `id` is `nil` or names a connection: the one rule
    /// for every read narrowed to a connection, so an unknown id is an error, never an empty answer.
    static func requireConnection(_ id: String?, db: Database) throws {
        guard let id else { return }
        if id.hasPrefix(ProviderApp.quarantinePrefix) {
            // An app's quarantine: what reached the app's URL but none of its connections.
            let app = String(id.dropFirst(ProviderApp.quarantinePrefix.count))
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM apps WHERE id = ?)", arguments: [app]) == true else {
                throw StoreError(.notFound, "no app \(app)")
            }
            return
        }
        guard try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM connections WHERE id = ?)", arguments: [id]) == true else {
            throw StoreError(.notFound, "no connection \(id)")
        }
    }

    public func connection(id: String) async throws(StoreError) -> Connection? {
        let box = self.box
        return try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM connections WHERE id = ?", arguments: [id]).map { row in
                try Self.makeConnection(row, db: db, box: box)
            }
        }
    }

    /// A connection as intake needs it on every request, read at most once per `maxAge`.
    ///
    /// Changes made through this store are seen at once (they clear the cache); changes made by
    /// another process (the CLI) are seen within `maxAge`.
    public func connection(id: String, cachedFor maxAge: Duration) async throws(StoreError) -> Connection? {
        let now = ContinuousClock.now
        if let hit = connectionCache.withLock({ $0[id] }), now - hit.loaded < maxAge { return hit.connection }
        let loaded = try await connection(id: id)
        connectionCache.withLock { cache in
            if let loaded { cache[id] = (loaded, now) } else { cache[id] = nil }
        }
        return loaded
    }

    func forgetCachedConnections() {
        connectionCache.withLock { $0.removeAll() }
        appCache.withLock { $0 = AppCache() }
    }

    public func connections() async throws(StoreError) -> [Connection] {
        let box = self.box
        return try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM connections ORDER BY id").map { row in
                try Self.makeConnection(row, db: db, box: box)
            }
        }
    }

    static func makeConnection(_ row: Row, db: Database, box: SecretBox) throws -> Connection {
        let secretRows = try Row.fetchAll(db, sql: """
            SELECT sealed, fingerprint, retired_at FROM connection_secrets
            WHERE connection = ? AND purpose = 'webhook' ORDER BY id
            """, arguments: [row["id"] as String])
        var secrets: [String] = []
        var fingerprints: [String] = []
        var retired = 0
        for secretRow in secretRows {
            if (secretRow["retired_at"] as Int64?) != nil {
                retired += 1
                continue
            }
            secrets.append(try box.open(secretRow["sealed"]))
            fingerprints.append(secretRow["fingerprint"])
        }
        return Connection(
            id: row["id"], provider: row["provider"], tenant: row["tenant"], account: row["account"], app: row["app"],
            toleranceSeconds: row["tolerance_seconds"], createdAt: row["created_at"],
            webhookSecrets: secrets, secretFingerprints: fingerprints, retiredSecretCount: retired
        )
    }

    /// Adds an active webhook secret (the first step of a rotation).
    public func addWebhookSecret(connection id: String, secret: String, now: Int64) async throws(StoreError) {
        defer { forgetCachedConnections() }
        let blob = try box.seal(secret)
        let fingerprint = box.fingerprint(secret)
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM connections WHERE id = ?", arguments: [id]) == true else {
                throw StoreError(.notFound, "no connection \(id)")
            }
            if try Bool.fetchOne(db, sql: """
                SELECT 1 FROM connection_secrets WHERE connection = ? AND fingerprint = ? AND retired_at IS NULL
                """, arguments: [id, fingerprint]) == true {
                throw StoreError(.conflict, "connection \(id) already has that secret")
            }
            try db.execute(sql: """
                INSERT INTO connection_secrets (connection, purpose, sealed, fingerprint, added_at) VALUES (?, 'webhook', ?, ?, ?)
                """, arguments: [id, blob, fingerprint, now])
        }
    }

    /// Stores a secret delivered by a handshake, only if the connection still has none (atomic).
    /// - Returns: whether it was stored.
    public func deliverWebhookSecret(connection id: String, secret: String, now: Int64) async throws(StoreError) -> Bool {
        defer { forgetCachedConnections() }
        let blob = try box.seal(secret)
        let fingerprint = box.fingerprint(secret)
        return try await write { db in
            try db.execute(sql: """
                INSERT INTO connection_secrets (connection, purpose, sealed, fingerprint, added_at)
                SELECT ?1, 'webhook', ?2, ?3, ?4
                WHERE EXISTS (SELECT 1 FROM connections WHERE id = ?1)
                  AND NOT EXISTS (SELECT 1 FROM connection_secrets WHERE connection = ?1 AND purpose = 'webhook' AND retired_at IS NULL)
                """, arguments: [id, blob, fingerprint, now])
            return db.changesCount == 1
        }
    }

    /// Retires an active webhook secret: requests signed with it are refused from now on.
    public func retireWebhookSecret(connection id: String, secret: String, now: Int64) async throws(StoreError) {
        defer { forgetCachedConnections() }
        let fingerprint = box.fingerprint(secret)
        try await write { db in
            let active = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM connection_secrets WHERE connection = ? AND purpose = 'webhook' AND retired_at IS NULL
                """, arguments: [id]) ?? 0
            try db.execute(sql: """
                UPDATE connection_secrets SET retired_at = ?
                WHERE connection = ? AND purpose = 'webhook' AND fingerprint = ? AND retired_at IS NULL
                """, arguments: [now, id, fingerprint])
            guard db.changesCount > 0 else { throw StoreError(.notFound, "connection \(id) has no active secret with that value") }
            // With no active secret a connection would accept a secret-delivering handshake from anyone.
            guard active > 1 else { throw StoreError(.conflict, "connection \(id) would be left without a webhook secret; add the new one first") }
        }
    }

    /// Removes a connection and its secrets, cursors, rate-limit state and sweeps (by cascade).
    ///
    /// - Parameter purge: also delete its events, mirror records and leases, in the same transaction.
    ///   Without it a connection that still has events or records is refused (`.conflict`): they would
    ///   outlive it, and a new connection with the same id would take its first events for duplicates
    ///   and find the mirror labelled with the old tenant.
    /// - Returns: how many events and records went with it.
    @discardableResult
    public func removeConnection(id: String, purge: Bool = false) async throws(StoreError) -> ConnectionRemoval {
        defer { forgetCachedConnections() }
        return try await write { db in
            let (events, records) = try Self.removable(id, purge: purge, db: db)
            try db.execute(sql: "DELETE FROM events WHERE connection = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM records WHERE connection = ?", arguments: [id])
            // Lease names are `poll:<connection>:<resource>` and `sweep:<connection>:<resource>`; compared by
            // prefix with substr, since a connection id may hold LIKE's wildcard `_`.
            for prefix in ["poll:\(id):", "sweep:\(id):"] {
                try db.execute(sql: "DELETE FROM leases WHERE substr(name, 1, length(?1)) = ?1", arguments: [prefix])
            }
            try db.execute(sql: "DELETE FROM connections WHERE id = ?", arguments: [id])
            return ConnectionRemoval(events: events, records: records)
        }
    }

    /// Throws what ``removeConnection(id:purge:)`` would refuse, changing nothing: asked before what
    /// a removal undoes at the provider (its subscription, its grant), which cannot be put back.
    public func checkRemovable(id: String, purge: Bool) async throws(StoreError) {
        try await readValue { db in _ = try Self.removable(id, purge: purge, db: db) }
    }

    /// The connection's stored events and records, or the reason it cannot be removed.
    static func removable(_ id: String, purge: Bool, db: Database) throws -> (events: Int, records: Int) {
        guard try Bool.fetchOne(db, sql: "SELECT 1 FROM connections WHERE id = ?", arguments: [id]) == true else {
            throw StoreError(.notFound, "no connection \(id)")
        }
        let events = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE connection = ?", arguments: [id]) ?? 0
        let records = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM records WHERE connection = ?", arguments: [id]) ?? 0
        if !purge, events + records > 0 {
            throw StoreError(.conflict, "connection \(id) still has \(events) event(s) and \(records) record(s); remove it with --purge to delete them too")
        }
        return (events, records)
    }
}
