import Foundation
import GRDB
import Synchronization
public import TributaryCore

/// Apps and app routes as app-level intake reads them on every request.
struct AppCache {
    var apps: [String: (app: ProviderApp?, loaded: ContinuousClock.Instant)] = [:]
    /// `app` NUL `account` → the connection id it routes to, or `nil` (no connection has that account).
    var routes: [String: (connection: String?, loaded: ContinuousClock.Instant)] = [:]
}

/// The apps facet: provider apps with their sealed secrets, and which connection an app's account routes to.
extension Store {
    /// Creates an app; its id must be new.
    public func addApp(id: String, provider: String, credentials: AppCredentials, now: Int64) async throws(StoreError) -> ProviderApp {
        defer { forgetCachedConnections() }
        let sealed = try sealedAppSecrets(credentials)
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM apps WHERE id = ?", arguments: [id]) == true {
                throw StoreError(.conflict, "app \(id) already exists")
            }
            try db.execute(sql: "INSERT INTO apps (id, provider, client_id, app_id, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, provider, credentials.clientID, credentials.appID, now])
            for secret in sealed {
                try db.execute(sql: """
                    INSERT INTO app_secrets (app, purpose, sealed, fingerprint, added_at) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [id, secret.purpose, secret.blob, secret.fingerprint, now])
            }
        }
        guard let app = try await app(id: id) else { throw StoreError(.internal, "app \(id) vanished after insert") }
        return app
    }

    /// Replaces the app's OAuth client and key material where given (`nil` keeps what is stored);
    /// webhook secrets rotate through ``addAppWebhookSecret(app:secret:now:)`` instead.
    public func updateApp(id: String, credentials: AppCredentials, now: Int64) async throws(StoreError) {
        defer { forgetCachedConnections() }
        let sealed = try sealedAppSecrets(AppCredentials(clientSecret: credentials.clientSecret, privateKey: credentials.privateKey))
        try await write { db in
            try Self.requireApp(id, db: db)
            if let clientID = credentials.clientID { try db.execute(sql: "UPDATE apps SET client_id = ? WHERE id = ?", arguments: [clientID, id]) }
            // New client credentials end the backoff of renewals that failed for the old ones.
            try db.execute(sql: """
                UPDATE oauth_grants SET retry_at = NULL, failures = 0 WHERE state = 'active' AND connection IN (SELECT id FROM connections WHERE app = ?)
                """, arguments: [id])
            if let appID = credentials.appID { try db.execute(sql: "UPDATE apps SET app_id = ? WHERE id = ?", arguments: [appID, id]) }
            for secret in sealed {
                try db.execute(sql: "UPDATE app_secrets SET retired_at = ? WHERE app = ? AND purpose = ? AND retired_at IS NULL",
                               arguments: [now, id, secret.purpose])
                try db.execute(sql: """
                    INSERT INTO app_secrets (app, purpose, sealed, fingerprint, added_at) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [id, secret.purpose, secret.blob, secret.fingerprint, now])
            }
        }
    }

    private func sealedAppSecrets(_ credentials: AppCredentials) throws(StoreError) -> [(purpose: String, blob: Data, fingerprint: String)] {
        var secrets: [(String, String)] = credentials.webhookSecrets.map { ("webhook", $0) }
        if let clientSecret = credentials.clientSecret { secrets.append(("client-secret", clientSecret)) }
        if let privateKey = credentials.privateKey { secrets.append(("private-key", privateKey)) }
        return try secrets.map { purpose, secret throws(StoreError) in (purpose, try box.seal(secret), box.fingerprint(secret)) }
    }

    public func app(id: String) async throws(StoreError) -> ProviderApp? {
        let box = self.box
        return try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM apps WHERE id = ?", arguments: [id]).map { try Self.makeApp($0, db: db, box: box) }
        }
    }

    /// An app as app-level intake needs it on every request, read at most once per `maxAge` (changes
    /// through this store are seen at once; another process's within `maxAge`).
    public func app(id: String, cachedFor maxAge: Duration) async throws(StoreError) -> ProviderApp? {
        let now = ContinuousClock.now
        if let hit = appCache.withLock({ $0.apps[id] }), now - hit.loaded < maxAge { return hit.app }
        let loaded = try await app(id: id)
        appCache.withLock { $0.apps[id] = (loaded, now) }
        return loaded
    }

    public func apps() async throws(StoreError) -> [ProviderApp] {
        let box = self.box
        return try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM apps ORDER BY id").map { try Self.makeApp($0, db: db, box: box) }
        }
    }

    /// How many connections belong to each app.
    public func appConnectionCounts() async throws(StoreError) -> [String: Int] {
        try await read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT app, COUNT(*) AS n FROM connections WHERE app IS NOT NULL GROUP BY app") {
                counts[row["app"]] = row["n"]
            }
            return counts
        }
    }

    static func makeApp(_ row: Row, db: Database, box: SecretBox) throws -> ProviderApp {
        let id: String = row["id"]
        var app = ProviderApp(id: id, provider: row["provider"], clientID: row["client_id"], appID: row["app_id"], createdAt: row["created_at"])
        for secret in try Row.fetchAll(db, sql: """
            SELECT purpose, sealed, fingerprint, retired_at FROM app_secrets WHERE app = ? ORDER BY id
            """, arguments: [id]) {
            let purpose: String = secret["purpose"]
            guard (secret["retired_at"] as Int64?) == nil else {
                if purpose == "webhook" { app.retiredSecretCount += 1 }
                continue
            }
            let opened = try box.open(secret["sealed"])
            switch purpose {
            case "webhook":
                app.webhookSecrets.append(opened)
                app.secretFingerprints.append(secret["fingerprint"])
            case "client-secret": app.clientSecret = opened
            case "private-key": app.privateKey = opened
            default: break
            }
        }
        return app
    }

    static func requireApp(_ id: String, db: Database) throws {
        guard try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM apps WHERE id = ?)", arguments: [id]) == true else {
            throw StoreError(.notFound, "no app \(id)")
        }
    }

    /// Refuses a connection that cannot belong to `app`: the app must exist and be for the same
    /// provider, and the account must be given and not yet taken by another of its connections (it
    /// is how the app's deliveries find their tenant, so it must name one connection).
    static func checkAppMembership(app: String, provider: String, account: String?, db: Database) throws {
        guard let appProvider = try String.fetchOne(db, sql: "SELECT provider FROM apps WHERE id = ?", arguments: [app]) else {
            throw StoreError(.notFound, "no app \(app)")
        }
        guard appProvider == provider else {
            throw StoreError(.conflict, "app \(app) is a \(appProvider) app; a \(provider) connection cannot belong to it")
        }
        guard let account else { throw StoreError(.conflict, "a connection of app \(app) needs --account: the app's deliveries are routed by it") }
        if let taken = try String.fetchOne(db, sql: "SELECT id FROM connections WHERE app = ? AND account = ?", arguments: [app, account]) {
            throw StoreError(.conflict, "account \(account) of app \(app) already belongs to connection \(taken)")
        }
    }

    /// The connection of `app` whose account is `account`, read at most once per `maxAge`.
    public func connection(app: String, account: String, cachedFor maxAge: Duration) async throws(StoreError) -> Connection? {
        let now = ContinuousClock.now
        let key = app + "\u{0}" + account
        let id: String?
        if let hit = appCache.withLock({ $0.routes[key] }), now - hit.loaded < maxAge {
            id = hit.connection
        } else {
            id = try await read { db in
                try String.fetchOne(db, sql: "SELECT id FROM connections WHERE app = ? AND account = ?", arguments: [app, account])
            }
            appCache.withLock { $0.routes[key] = (id, now) }
        }
        guard let id else { return nil }
        return try await connection(id: id, cachedFor: maxAge)
    }

    /// Adds an active webhook secret to an app (the first step of a rotation).
    public func addAppWebhookSecret(app id: String, secret: String, now: Int64) async throws(StoreError) {
        defer { forgetCachedConnections() }
        let blob = try box.seal(secret)
        let fingerprint = box.fingerprint(secret)
        try await write { db in
            try Self.requireApp(id, db: db)
            if try Bool.fetchOne(db, sql: """
                SELECT 1 FROM app_secrets WHERE app = ? AND purpose = 'webhook' AND fingerprint = ? AND retired_at IS NULL
                """, arguments: [id, fingerprint]) == true {
                throw StoreError(.conflict, "app \(id) already has that secret")
            }
            try db.execute(sql: "INSERT INTO app_secrets (app, purpose, sealed, fingerprint, added_at) VALUES (?, 'webhook', ?, ?, ?)",
                           arguments: [id, blob, fingerprint, now])
        }
    }

    /// Retires an active webhook secret of an app; the last one cannot go (the app's URL would verify nothing).
    public func retireAppWebhookSecret(app id: String, secret: String, now: Int64) async throws(StoreError) {
        defer { forgetCachedConnections() }
        let fingerprint = box.fingerprint(secret)
        try await write { db in
            try Self.requireApp(id, db: db)
            let active = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM app_secrets WHERE app = ? AND purpose = 'webhook' AND retired_at IS NULL
                """, arguments: [id]) ?? 0
            try db.execute(sql: """
                UPDATE app_secrets SET retired_at = ? WHERE app = ? AND purpose = 'webhook' AND fingerprint = ? AND retired_at IS NULL
                """, arguments: [now, id, fingerprint])
            guard db.changesCount > 0 else { throw StoreError(.notFound, "app \(id) has no active webhook secret with that value") }
            guard active > 1 else { throw StoreError(.conflict, "app \(id) would be left without a webhook secret; add the new one first") }
        }
    }

    /// Removes an app with its secrets. Refused while connections belong to it (they would lose their
    /// route and their OAuth client) or while deliveries are quarantined under it, unless `purge`
    /// deletes those deliveries too.
    /// - Returns: how many quarantined deliveries went with it.
    @discardableResult
    public func removeApp(id: String, purge: Bool = false) async throws(StoreError) -> Int {
        defer { forgetCachedConnections() }
        return try await write { db in
            try Self.requireApp(id, db: db)
            let members = try String.fetchAll(db, sql: "SELECT id FROM connections WHERE app = ? ORDER BY id LIMIT 4", arguments: [id])
            if !members.isEmpty {
                throw StoreError(.conflict, "app \(id) still has connections (\(members.prefix(3).joined(separator: ", "))\(members.count > 3 ? ", …" : "")); remove them first")
            }
            let quarantine = ProviderApp.quarantinePrefix + id
            // Only deliveries still waiting count: one settled as a duplicate when replay routed its
            // twin holds nothing the connection lacks.
            let kept = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE connection = ? AND status = 'quarantined'", arguments: [quarantine]) ?? 0
            if kept > 0, !purge {
                throw StoreError(.conflict, "app \(id) has \(kept) quarantined deliveries; replay them once their connections exist, or remove it with --purge to delete them")
            }
            try db.execute(sql: "DELETE FROM events WHERE connection = ?", arguments: [quarantine])
            try db.execute(sql: "DELETE FROM apps WHERE id = ?", arguments: [id])
            return kept
        }
    }

    /// Moves a delivery quarantined at its app's URL to the connection it routes to now, read with
    /// what the manifest reads from it, and puts it back to pending.
    ///
    /// - Returns: `nil` when it moved; the seq of the event the connection already holds under the same
    ///   id (the provider's retry, received after the connection was added): this one is then settled as
    ///   a duplicate of that.
    public func route(
        seq: Int64, to connection: Connection, eventId: String, type: String?, record: RecordRef?, occurredAt: Int64?
    ) async throws(StoreError) -> Int64? {
        defer { forgetCachedConnections() }
        return try await writeValue { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT connection, status FROM events WHERE seq = ?", arguments: [seq]) else {
                throw StoreError(.notFound, "no event with seq \(seq)")
            }
            let from: String = row["connection"]
            guard from.hasPrefix(ProviderApp.quarantinePrefix), row["status"] == EventStatus.quarantined.rawValue else {
                throw StoreError(.conflict, "event \(seq) is not a quarantined app delivery")
            }
            try Self.requireConnection(connection.id, db: db)
            if let existing = try Int64.fetchOne(db, sql: "SELECT seq FROM events WHERE connection = ? AND event_id = ?",
                                                 arguments: [connection.id, eventId]) {
                try db.execute(sql: "UPDATE events SET status = 'superseded', reason = ? WHERE seq = ?",
                               arguments: ["routed to \(connection.id): a duplicate of seq \(existing)", seq])
                return existing
            }
            try db.execute(sql: """
                UPDATE events SET connection = ?, tenant = ?, event_id = ?, type = ?, record_type = ?, record_id = ?, version = ?,
                                  deleted = ?, full_state = ?, occurred_at = ?, incarnation = ?, status = 'pending', reason = NULL,
                                  attempts = 0, next_attempt_at = NULL
                WHERE seq = ?
                """, arguments: [connection.id, connection.tenant, eventId, type, record?.recordType, record?.recordId, record?.version,
                                 record?.deleted ?? false, record?.fullState ?? false, occurredAt, record?.incarnation, seq])
            return nil
        }
    }
}
