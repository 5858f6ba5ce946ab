import Foundation
import GRDB
public import TributaryCore

/// The OAuth facet: each connection's grant (sealed tokens under a generation counter) and the
/// authorizations waiting for their callback.
extension Store {
    public func oauthGrant(connection: String) async throws(StoreError) -> OAuthGrant? {
        let box = self.box
        return try await readValue { db in try Self.oauthGrant(connection: connection, db: db, box: box) }
    }

    static func oauthGrant(connection: String, db: Database, box: SecretBox) throws -> OAuthGrant? {
        try Row.fetchOne(db, sql: "SELECT * FROM oauth_grants WHERE connection = ?", arguments: [connection]).map { row in
            OAuthGrant(
                connection: connection,
                accessToken: try (row["access_sealed"] as Data?).map { try box.open($0) },
                refreshToken: try (row["refresh_sealed"] as Data?).map { try box.open($0) },
                expiresAt: row["expires_at"], scope: row["scope"], generation: row["generation"],
                state: OAuthGrant.State(rawValue: row["state"]) ?? .reauthRequired, reason: row["reason"],
                failures: row["failures"], retryAt: row["retry_at"], refreshedAt: row["refreshed_at"]
            )
        }
    }

    /// Commits tokens the provider granted.
    ///
    /// - Parameter over: the generation the renewal read; the commit happens only if the grant is
    ///   still at it (compare-and-set), so of two renewals of one generation exactly one commits.
    ///   `nil` (a new authorization) replaces whatever was there.
    /// - Returns: the committed generation, or `nil` when another renewal committed first.
    public func commitOAuthGrant(connection: String, _ grant: TokenGrant, over generation: Int64?, now: Int64) async throws(StoreError) -> Int64? {
        let access = try box.seal(grant.accessToken)
        let refresh = try grant.refreshToken.map { token throws(StoreError) in try box.seal(token) }
        return try await writeValue { db in
            try Self.requireConnection(connection, db: db)
            if let generation {
                // A provider that does not rotate the refresh token keeps the one held.
                try db.execute(sql: """
                    UPDATE oauth_grants SET access_sealed = ?, refresh_sealed = COALESCE(?, refresh_sealed), expires_at = ?,
                        scope = COALESCE(?, scope), generation = generation + 1, state = 'active', reason = NULL, failures = 0,
                        retry_at = NULL, refreshed_at = ?, updated_at = ?
                    WHERE connection = ? AND generation = ?
                    """, arguments: [access, refresh, grant.expiresAt, grant.scope, now, now, connection, generation])
                return db.changesCount == 1 ? generation + 1 : nil
            }
            let previous = try Int64.fetchOne(db, sql: "SELECT generation FROM oauth_grants WHERE connection = ?", arguments: [connection]) ?? 0
            try db.execute(sql: """
                INSERT OR REPLACE INTO oauth_grants
                    (connection, access_sealed, refresh_sealed, expires_at, scope, generation, state, failures, refreshed_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, 'active', 0, ?, ?)
                """, arguments: [connection, access, refresh, grant.expiresAt, grant.scope, previous + 1, now, now])
            return previous + 1
        }
    }

    /// Records a failed renewal of `generation`: retried after `retryAt`, or (`reauth`) not until the
    /// customer authorizes again. Nothing changes if another renewal committed meanwhile.
    public func noteOAuthFailure(connection: String, generation: Int64, reason: String, retryAt: Int64?, reauth: Bool, now: Int64) async throws(StoreError) {
        try await writeValue { db in
            try db.execute(sql: """
                UPDATE oauth_grants SET failures = failures + 1, reason = ?, retry_at = ?, state = ?, updated_at = ?
                WHERE connection = ? AND generation = ?
                """, arguments: [reason, retryAt, reauth ? "reauth_required" : "active", now, connection, generation])
        }
    }

    /// Keeps a pending authorization until its callback, under the digest of its `state`.
    public func addOAuthAuthorization(
        state: String, connection: String, verifier: String?, redirectURI: String, expiresAt: Int64, now: Int64
    ) async throws(StoreError) {
        let sealed = try verifier.map { v throws(StoreError) in try box.seal(v) }
        try await writeValue { db in
            try Self.requireConnection(connection, db: db)
            try db.execute(sql: "DELETE FROM oauth_authorizations WHERE expires_at <= ?", arguments: [now])
            try db.execute(sql: """
                INSERT INTO oauth_authorizations (state_digest, connection, verifier_sealed, redirect_uri, expires_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [TokenDigest(of: state).hex, connection, sealed, redirectURI, expiresAt])
        }
    }

    /// Takes the pending authorization `state` names, once: it is deleted in the same transaction, so
    /// a replayed callback finds nothing. An expired one is deleted and not returned.
    public func takeOAuthAuthorization(state: String, now: Int64) async throws(StoreError) -> (connection: String, verifier: String?, redirectURI: String)? {
        let box = self.box
        return try await writeValue { db in
            let digest = TokenDigest(of: state).hex
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM oauth_authorizations WHERE state_digest = ?", arguments: [digest]) else { return nil }
            try db.execute(sql: "DELETE FROM oauth_authorizations WHERE state_digest = ?", arguments: [digest])
            guard (row["expires_at"] as Int64) > now else { return nil }
            return (row["connection"], try (row["verifier_sealed"] as Data?).map { try box.open($0) }, row["redirect_uri"])
        }
    }
}
