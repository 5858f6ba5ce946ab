import GRDB
public import TributaryCore

extension Store {
    /// Where each connection stands: events by status, rate-limit state, every poll resource's cursor,
    /// runs and errors, and its latest sweeps, all read in **one** transaction, so the figures agree
    /// with each other (a commit between two reads cannot show an event twice or not at all).
    /// - Parameter connection: only this connection; `nil` for all of them, in id order.
    /// - Throws: `.notFound` when `connection` names no connection.
    public func status(connection only: String? = nil) async throws(StoreError) -> [ConnectionStatus] {
        let box = self.box
        return try await read { db in
            try Self.requireConnection(only, db: db)
            return try Row.fetchAll(db, sql: "SELECT * FROM connections WHERE (?1 IS NULL OR id = ?1) ORDER BY id", arguments: [only]).map { row in
                let connection = try Self.makeConnection(row, db: db, box: box)
                return ConnectionStatus(
                    connection: connection,
                    events: try Self.eventCounts(connection: connection.id, db: db),
                    rateLimit: try Self.rateLimitState(connection: connection.id, db: db).flatMap { JSONValue(parsing: Array($0.utf8)) },
                    resources: try Self.pollStates(connection: connection.id, db: db),
                    sweeps: try Self.latestSweeps(connection: connection.id, db: db),
                    oauth: try Self.oauthGrant(connection: connection.id, db: db, box: box),
                    subscription: try Self.subscription(connection: connection.id, db: db),
                    webhooks: try Self.webhookFreshness(connection: connection.id, db: db)
                )
            }
        }
    }
}
