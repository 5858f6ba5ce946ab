import GRDB
public import TributaryCore

/// The subscriptions facet: each connection's webhook subscription at its provider.
extension Store {
    public func subscription(connection: String) async throws(StoreError) -> Subscription? {
        try await readValue { db in try Self.subscription(connection: connection, db: db) }
    }

    static func subscription(connection: String, db: Database) throws -> Subscription? {
        try Row.fetchOne(db, sql: "SELECT * FROM subscriptions WHERE connection = ?", arguments: [connection]).map(Self.makeSubscription)
    }

    static func makeSubscription(_ row: Row) -> Subscription {
        Subscription(
            connection: row["connection"], subscriptionId: row["subscription_id"], expiresAt: row["expires_at"],
            state: Subscription.State(rawValue: row["state"]) ?? .failing, action: (row["action"] as String?).flatMap(Subscription.Action.init),
            reason: row["reason"], failures: row["failures"], retryAt: row["retry_at"], createdAt: row["created_at"], renewedAt: row["renewed_at"]
        )
    }

    /// Every subscription kept (removed ones included), by connection.
    public func subscriptions() async throws(StoreError) -> [Subscription] {
        try await readValue { db in try Row.fetchAll(db, sql: "SELECT * FROM subscriptions ORDER BY connection").map(Self.makeSubscription) }
    }

    /// Records a subscription created (`renewed` false) or renewed at the provider.
    public func saveSubscription(connection: String, id: String, expiresAt: Int64?, renewed: Bool, now: Int64) async throws(StoreError) {
        try await writeValue { db in
            try Self.requireConnection(connection, db: db)
            try db.execute(sql: """
                INSERT INTO subscriptions (connection, subscription_id, expires_at, state, failures, created_at, renewed_at, updated_at)
                VALUES (?1, ?2, ?3, 'active', 0, ?4, ?5, ?4)
                ON CONFLICT (connection) DO UPDATE SET subscription_id = ?2, expires_at = ?3, state = 'active', action = NULL, reason = NULL,
                    failures = 0, retry_at = NULL, created_at = CASE WHEN ?6 THEN created_at ELSE ?4 END, renewed_at = ?5, updated_at = ?4
                """, arguments: [connection, id, expiresAt, now, renewed ? now : nil, renewed])
        }
    }

    /// Records a failed create or renewal; retried after `retryAt`.
    public func noteSubscriptionFailure(connection: String, reason: String, retryAt: Int64, now: Int64) async throws(StoreError) {
        try await writeValue { db in
            try Self.requireConnection(connection, db: db)
            try db.execute(sql: """
                INSERT INTO subscriptions (connection, state, reason, failures, retry_at, updated_at) VALUES (?1, 'failing', ?2, 1, ?3, ?4)
                ON CONFLICT (connection) DO UPDATE SET state = 'failing', reason = ?2, failures = failures + 1, retry_at = ?3, updated_at = ?4
                """, arguments: [connection, reason, retryAt, now])
        }
    }

    /// Asks the renewal service to act on a connection's subscription on its next pass (a lifecycle
    /// notice received at intake). Nothing happens for a connection without a subscription, nor, when
    /// `subscriptionID` is given, for a notice about another subscription than the one held (one a
    /// recreate replaced and deleted: its `subscriptionRemoved` must not make another).
    /// - Returns: whether the notice is about the subscription held.
    @discardableResult
    public func requestSubscriptionAction(connection: String, _ action: Subscription.Action, subscriptionID: String? = nil, now: Int64) async throws(StoreError) -> Bool {
        try await writeValue { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT action, subscription_id FROM subscriptions WHERE connection = ? AND state != 'removed'", arguments: [connection]) else {
                return false
            }
            if let subscriptionID, subscriptionID != (row["subscription_id"] as String?) { return false }
            // A recreate outranks a renewal, which outranks a poll.
            let rank = ["poll": 0, "renew": 1, "recreate": 2]
            let current: String? = row["action"]
            guard (rank[current ?? ""] ?? -1) < rank[action.rawValue]! else { return true }
            try db.execute(sql: "UPDATE subscriptions SET action = ?, retry_at = NULL, updated_at = ? WHERE connection = ?",
                           arguments: [action.rawValue, now, connection])
            return true
        }
    }

    /// Clears an action done without touching the subscription (a poll).
    public func clearSubscriptionAction(connection: String, now: Int64) async throws(StoreError) {
        try await writeValue { db in
            try db.execute(sql: "UPDATE subscriptions SET action = NULL, updated_at = ? WHERE connection = ?", arguments: [now, connection])
        }
    }

    public func markSubscriptionRemoved(connection: String, now: Int64) async throws(StoreError) {
        try await writeValue { db in
            try db.execute(sql: """
                UPDATE subscriptions SET state = 'removed', action = NULL, expires_at = NULL, retry_at = NULL, updated_at = ? WHERE connection = ?
                """, arguments: [now, connection])
        }
    }
}
