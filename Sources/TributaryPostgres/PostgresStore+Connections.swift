import Foundation
import Logging
import PostgresNIO
public import TributaryCore
public import TributaryStore

/// Connections and their sealed webhook secrets on PostgreSQL (``ConnectionStore``).
extension PostgresStore: ConnectionStore {
    public func addConnection(
        id: String, provider: String, tenant: String, account: String?, app: String?, toleranceSeconds: Int?,
        webhookSecrets: [String], now: Int64
    ) async throws(StoreError) -> Connection {
        let sealed = try webhookSecrets.map { secret throws(StoreError) in (try box.seal(secret), box.fingerprint(secret)) }
        let tolerance = toleranceSeconds.map(Int64.init)
        try await transaction { connection, logger in
            if let app {
                var found: String?
                for try await appProvider in try await connection.query("SELECT provider FROM apps WHERE id = \(app) FOR SHARE", logger: logger).decode(String.self) {
                    found = appProvider
                }
                guard let appProvider = found else { throw StoreError(.notFound, "no app \(app)") }
                guard appProvider == provider else {
                    throw StoreError(.conflict, "app \(app) is a \(appProvider) app; a \(provider) connection cannot belong to it")
                }
                guard let account else { throw StoreError(.conflict, "a connection of app \(app) needs --account: the app's deliveries are routed by it") }
                for try await taken in try await connection.query("SELECT id FROM connections WHERE app = \(app) AND account = \(account)", logger: logger).decode(String.self) {
                    throw StoreError(.conflict, "account \(account) of app \(app) already belongs to connection \(taken)")
                }
            }
            let inserted = try await connection.query("""
                INSERT INTO connections (id, provider, tenant, account, app, tolerance_seconds, created_at)
                VALUES (\(id), \(provider), \(tenant), \(account), \(app), \(tolerance), \(now))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """, logger: logger)
            var created = false
            for try await _ in inserted { created = true }
            guard created else { throw StoreError(.conflict, "connection \(id) already exists") }
            for (blob, fingerprint) in sealed {
                try await connection.query("""
                    INSERT INTO connection_secrets (connection, purpose, sealed, fingerprint, added_at)
                    VALUES (\(id), 'webhook', \(blob), \(fingerprint), \(now))
                    """, logger: logger)
            }
        }
        guard let connection = try await connection(id: id) else { throw StoreError(.internal, "connection \(id) vanished after insert") }
        return connection
    }

    public func connection(id: String) async throws(StoreError) -> Connection? {
        try await loadConnections("SELECT * FROM connections WHERE id = \(id)").first
    }

    public func connections() async throws(StoreError) -> [Connection] {
        try await loadConnections("SELECT * FROM connections ORDER BY id")
    }

    public func addWebhookSecret(connection id: String, secret: String, now: Int64) async throws(StoreError) {
        let blob = try box.seal(secret)
        let fingerprint = box.fingerprint(secret)
        try await transaction { connection, logger in
            try await Self.lockConnection(id, on: connection, logger: logger)
            let duplicate = try await connection.query("""
                SELECT 1 FROM connection_secrets WHERE connection = \(id) AND fingerprint = \(fingerprint) AND retired_at IS NULL
                """, logger: logger)
            for try await _ in duplicate { throw StoreError(.conflict, "connection \(id) already has that secret") }
            try await connection.query("""
                INSERT INTO connection_secrets (connection, purpose, sealed, fingerprint, added_at)
                VALUES (\(id), 'webhook', \(blob), \(fingerprint), \(now))
                """, logger: logger)
        }
    }

    public func retireWebhookSecret(connection id: String, secret: String, now: Int64) async throws(StoreError) {
        let fingerprint = box.fingerprint(secret)
        try await transaction { connection, logger in
            // The row lock serialises two retirements: each counts the secrets still active after the other.
            try await Self.lockConnection(id, on: connection, logger: logger)
            var active: Int64 = 0
            for try await count in try await connection.query("""
                SELECT count(*) FROM connection_secrets WHERE connection = \(id) AND purpose = 'webhook' AND retired_at IS NULL
                """, logger: logger).decode(Int64.self) {
                active = count
            }
            let retired = try await connection.query("""
                UPDATE connection_secrets SET retired_at = \(now)
                WHERE connection = \(id) AND purpose = 'webhook' AND fingerprint = \(fingerprint) AND retired_at IS NULL
                RETURNING id
                """, logger: logger)
            var changed = false
            for try await _ in retired { changed = true }
            guard changed else { throw StoreError(.notFound, "connection \(id) has no active secret with that value") }
            guard active > 1 else { throw StoreError(.conflict, "connection \(id) would be left without a webhook secret; add the new one first") }
        }
    }

    /// Locks the connection's row for the transaction, or throws `.notFound`.
    static func lockConnection(_ id: String, on connection: PostgresConnection, logger: Logger) async throws {
        for try await _ in try await connection.query("SELECT 1 FROM connections WHERE id = \(id) FOR UPDATE", logger: logger) { return }
        throw StoreError(.notFound, "no connection \(id)")
    }

    private func loadConnections(_ query: PostgresQuery) async throws(StoreError) -> [Connection] {
        let box = self.box
        return try await readValue { client, logger in
            var rows: [PostgresRandomAccessRow] = []
            for try await row in try await client.query(query, logger: logger) { rows.append(row.makeRandomAccess()) }
            guard !rows.isEmpty else { return [] }
            let ids = try rows.map { try $0["id"].decode(String.self) }
            var secrets: [String: [(sealed: Data, fingerprint: String, retired: Bool)]] = [:]
            let secretRows = try await client.query("""
                SELECT connection, sealed, fingerprint, retired_at IS NOT NULL FROM connection_secrets
                WHERE connection = ANY(\(ids)) AND purpose = 'webhook' ORDER BY id
                """, logger: logger)
            for try await (connection, sealed, fingerprint, retired) in secretRows.decode((String, Data, String, Bool).self) {
                secrets[connection, default: []].append((sealed, fingerprint, retired))
            }
            return try rows.map { row throws -> Connection in
                let id = try row["id"].decode(String.self)
                var open: [String] = []
                var fingerprints: [String] = []
                var retired = 0
                for secret in secrets[id] ?? [] {
                    if secret.retired { retired += 1; continue }
                    open.append(try box.open(secret.sealed))
                    fingerprints.append(secret.fingerprint)
                }
                return Connection(
                    id: id, provider: try row["provider"].decode(String.self), tenant: try row["tenant"].decode(String.self),
                    account: try row["account"].decode(String?.self), app: try row["app"].decode(String?.self),
                    toleranceSeconds: try row["tolerance_seconds"].decode(Int64?.self).map(Int.init),
                    createdAt: try row["created_at"].decode(Int64.self),
                    webhookSecrets: open, secretFingerprints: fingerprints, retiredSecretCount: retired
                )
            }
        }
    }
}
