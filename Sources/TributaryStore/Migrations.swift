import TributaryCore
import GRDB

/// The schema, as SQL that is never edited once shipped: a change is a new migration appended here.
///
/// Applied by ``migrate(_:upTo:)`` under one write lock, so any number of processes opening a new or
/// older database at once agree: the first applies what is missing, the others find it applied.
/// Applied identifiers are kept in `grdb_migrations`, the table of GRDB's migrator, which applied
/// them before, so databases it made need nothing.
enum Migrations {
    struct Migration: Sendable {
        let identifier: String
        let apply: @Sendable (Database) throws -> Void

        init(_ identifier: String, apply: @escaping @Sendable (Database) throws -> Void) {
            self.identifier = identifier
            self.apply = apply
        }
    }

    static let all: [Migration] = [
        Migration("v1-connections-and-events") { db in
            try db.execute(sql: """
                CREATE TABLE connections (
                    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 128),
                    provider TEXT NOT NULL,
                    tenant TEXT NOT NULL CHECK (length(tenant) > 0),
                    account TEXT,
                    tolerance_seconds INTEGER CHECK (tolerance_seconds IS NULL OR tolerance_seconds >= 0),
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX connections_by_account ON connections(provider, account);

                CREATE TABLE connection_secrets (
                    id INTEGER PRIMARY KEY,
                    connection TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
                    purpose TEXT NOT NULL CHECK (purpose IN ('webhook', 'api')),
                    sealed BLOB NOT NULL,
                    fingerprint TEXT NOT NULL,
                    added_at INTEGER NOT NULL,
                    retired_at INTEGER
                );
                CREATE INDEX connection_secrets_by_connection ON connection_secrets(connection, purpose);

                CREATE TABLE events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    connection TEXT NOT NULL,
                    tenant TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    source TEXT NOT NULL CHECK (source IN ('webhook', 'poll', 'fetch', 'sweep')),
                    event_id TEXT NOT NULL,
                    type TEXT,
                    record_type TEXT,
                    record_id TEXT,
                    version INTEGER,
                    deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
                    full_state INTEGER NOT NULL DEFAULT 0 CHECK (full_state IN (0, 1)),
                    occurred_at INTEGER,
                    received_at INTEGER NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'applied', 'superseded', 'quarantined', 'failed', 'dead')),
                    reason TEXT,
                    headers TEXT NOT NULL,
                    body BLOB NOT NULL,
                    url TEXT,
                    UNIQUE (connection, event_id),
                    CHECK ((record_type IS NULL) = (record_id IS NULL))
                );
                CREATE INDEX events_by_status ON events(status, seq);
                CREATE INDEX events_by_connection ON events(connection, seq);
                """)
        },
        Migration("v2-polling") { db in
            try db.execute(sql: """
                ALTER TABLE connections ADD COLUMN api_base_url TEXT;

                CREATE TABLE poll_cursors (
                    connection TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
                    resource TEXT NOT NULL,
                    cursor TEXT NOT NULL DEFAULT '{}',
                    last_run_started_at INTEGER,
                    last_run_finished_at INTEGER,
                    next_run_at INTEGER,
                    last_error TEXT,
                    last_anomaly TEXT,
                    pages INTEGER NOT NULL DEFAULT 0 CHECK (pages >= 0),
                    observations INTEGER NOT NULL DEFAULT 0 CHECK (observations >= 0),
                    PRIMARY KEY (connection, resource)
                );

                CREATE TABLE leases (
                    name TEXT PRIMARY KEY NOT NULL,
                    holder TEXT NOT NULL,
                    expires_at INTEGER NOT NULL
                );

                CREATE TABLE rate_limits (
                    connection TEXT PRIMARY KEY NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
                    state TEXT NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                """)
        },
        Migration("v3-mirror") { db in
            try db.execute(sql: """
                CREATE TABLE records (
                    connection TEXT NOT NULL,
                    record_type TEXT NOT NULL,
                    record_id TEXT NOT NULL,
                    tenant TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    version INTEGER,
                    deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),
                    data BLOB,
                    content_hash TEXT,
                    version_trusted INTEGER NOT NULL DEFAULT 1 CHECK (version_trusted IN (0, 1)),
                    pending_regression INTEGER,
                    updated_at INTEGER NOT NULL,
                    source_seq INTEGER NOT NULL,
                    PRIMARY KEY (connection, record_type, record_id)
                );
                CREATE INDEX records_by_update ON records(connection, record_type, updated_at);
                """)
        },
        Migration("v4-retries") { db in
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN applications INTEGER NOT NULL DEFAULT 0 CHECK (applications >= 0);
                ALTER TABLE events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0);
                ALTER TABLE events ADD COLUMN next_attempt_at INTEGER;
                """)
        },
        Migration("v5-sweeps-fences-changes") { db in
            try db.execute(sql: """
                -- The sweep generation an event belongs to, and when the read that produced it was
                -- issued (a poll page's or a fetch's request time; a webhook's arrival).
                ALTER TABLE events ADD COLUMN generation INTEGER;
                ALTER TABLE events ADD COLUMN read_fence INTEGER;

                -- The last sweep that saw the record, the read fence of what the mirror holds, and
                -- the mirror's change sequence (commit order, for /v1/changes).
                ALTER TABLE records ADD COLUMN generation INTEGER;
                ALTER TABLE records ADD COLUMN read_fence INTEGER;
                ALTER TABLE records ADD COLUMN change_seq INTEGER;
                UPDATE records SET change_seq = rowid;
                CREATE UNIQUE INDEX records_by_change ON records(change_seq);

                CREATE TABLE sweeps (
                    generation INTEGER PRIMARY KEY AUTOINCREMENT,
                    connection TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
                    resource TEXT NOT NULL,
                    record_type TEXT NOT NULL,
                    started_at INTEGER NOT NULL,
                    finished_at INTEGER,
                    status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'complete', 'incomplete', 'failed')),
                    error TEXT,
                    cursor TEXT NOT NULL DEFAULT '{}',
                    pages INTEGER NOT NULL DEFAULT 0,
                    seen INTEGER NOT NULL DEFAULT 0,
                    missing INTEGER NOT NULL DEFAULT 0,
                    stale INTEGER NOT NULL DEFAULT 0,
                    extra INTEGER NOT NULL DEFAULT 0,
                    confirmed_deleted INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX sweeps_by_resource ON sweeps(connection, resource, generation);

                -- Service-wide settings, e.g. the admin token's hash.
                CREATE TABLE settings (
                    key TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL
                );
                """)
        },
        Migration("v6-unapplied-index") { db in
            // Applied events are the bulk of the log and nothing looks them up by status. Leaving
            // them out of the status index means applying an event only removes its entry (the
            // reconciler's hot path) rather than moving it, and keeps the index to the events an
            // operator or the reconciler asks for. Queries carry `EventLog.unapplied` to use it.
            try db.execute(sql: """
                DROP INDEX events_by_status;
                CREATE INDEX events_unapplied ON events(status, seq) WHERE status != 'applied';
                """)
        },
        Migration("v7-body-digests") { db in
            // The SHA-256 of a delivery's body, kept only where the provider's event id is not signed
            // (GitHub's X-GitHub-Delivery, for one): the replay guard looks it up within the retry horizon.
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN body_digest TEXT;
                CREATE INDEX events_by_body_digest ON events(connection, body_digest, received_at) WHERE body_digest IS NOT NULL;
                """)
        },
        Migration("v8-awaiting-fetch") { db in
            // Why a pending event waits for a fetch, as a value (FetchCause) the store selects on; it
            // was only a sentence in `reason`. Backfilled from those sentences.
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN awaiting_fetch TEXT CHECK (awaiting_fetch IS NULL OR awaiting_fetch IN (
                    'no-version', 'thin-payload', 'conflicting-content', 'untrusted-version', 'fenced',
                    'confirm-regression', 'suspected-deleted', 'unspecified'));
                UPDATE events SET awaiting_fetch = CASE
                    WHEN reason LIKE 'needs fetch: noVersion%' THEN 'no-version'
                    WHEN reason LIKE 'needs fetch: thinPayload%' THEN 'thin-payload'
                    WHEN reason LIKE 'needs fetch: conflictingContent%' THEN 'conflicting-content'
                    WHEN reason LIKE 'needs fetch: untrustedVersion%' THEN 'untrusted-version'
                    WHEN reason LIKE 'needs fetch: fenced%' THEN 'fenced'
                    WHEN reason LIKE 'needs fetch: confirmRegression%' THEN 'confirm-regression'
                    WHEN reason LIKE 'needs fetch: suspected deleted%' THEN 'suspected-deleted'
                    ELSE 'unspecified' END
                WHERE status = 'pending' AND reason LIKE 'needs fetch%';
                """)
        },
        Migration("v9-poll-freshness") { db in
            // When a resource's run last logged something new, and how many runs in a row read full pages
            // of nothing new without moving the cursor: a poll that stopped moving says so.
            try db.execute(sql: """
                ALTER TABLE poll_cursors ADD COLUMN last_change_at INTEGER;
                ALTER TABLE poll_cursors ADD COLUMN stalled_runs INTEGER NOT NULL DEFAULT 0 CHECK (stalled_runs >= 0);
                """)
        },
        Migration("v10-incarnations") { db in
            // Which record under an id (a creation time): providers that reuse a deleted record's id make a
            // new record whose versions start again, so the mirror keeps the incarnation it holds.
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN incarnation INTEGER;
                ALTER TABLE records ADD COLUMN incarnation INTEGER;
                """)
        },
        Migration("v11-apps") { db in
            // Provider apps: one webhook URL and one OAuth client for many connections. An app's account
            // names at most one of its connections, so a delivery routes to one tenant or to none.
            try db.execute(sql: """
                CREATE TABLE apps (
                    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 128),
                    provider TEXT NOT NULL,
                    client_id TEXT,
                    app_id TEXT,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE app_secrets (
                    id INTEGER PRIMARY KEY,
                    app TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
                    purpose TEXT NOT NULL CHECK (purpose IN ('webhook', 'client-secret', 'private-key')),
                    sealed BLOB NOT NULL,
                    fingerprint TEXT NOT NULL,
                    added_at INTEGER NOT NULL,
                    retired_at INTEGER
                );
                CREATE INDEX app_secrets_by_app ON app_secrets(app, purpose);
                ALTER TABLE connections ADD COLUMN app TEXT REFERENCES apps(id);
                CREATE UNIQUE INDEX connections_by_app_account ON connections(app, account) WHERE app IS NOT NULL;
                """)
        },
        Migration("v12-oauth") { db in
            // One OAuth grant per connection. `generation` is the compare-and-set guard: a refresh
            // commits only over the generation it read, so two refreshers can never both win, and a
            // token is used only after its generation committed. Pending authorizations are keyed by
            // the digest of their `state` (the state itself is a bearer secret) and used once.
            try db.execute(sql: """
                CREATE TABLE oauth_grants (
                    connection TEXT PRIMARY KEY NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
                    access_sealed BLOB,
                    refresh_sealed BLOB,
                    expires_at INTEGER,
                    scope TEXT,
                    generation INTEGER NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('active', 'reauth_required')),
                    reason TEXT,
                    failures INTEGER NOT NULL DEFAULT 0,
                    retry_at INTEGER,
                    refreshed_at INTEGER,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE oauth_authorizations (
                    state_digest TEXT PRIMARY KEY NOT NULL,
                    connection TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
                    verifier_sealed BLOB,
                    redirect_uri TEXT NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                """)
        },
        Migration("v13-subscriptions") { db in
            // Each connection's webhook subscription at its provider. `action` is what intake asked of
            // the renewal service (a provider's lifecycle notice): it acts on its next pass.
            try db.execute(sql: """
                CREATE TABLE subscriptions (
                    connection TEXT PRIMARY KEY NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
                    subscription_id TEXT,
                    expires_at INTEGER,
                    state TEXT NOT NULL CHECK (state IN ('active', 'failing', 'removed')),
                    action TEXT CHECK (action IN ('renew', 'recreate', 'poll')),
                    reason TEXT,
                    failures INTEGER NOT NULL DEFAULT 0,
                    retry_at INTEGER,
                    created_at INTEGER,
                    renewed_at INTEGER,
                    updated_at INTEGER NOT NULL
                );
                """)
        },
        Migration("v14-delivery") { db in
            // Where every change is delivered, and the outbox: a delivery row is written in the
            // transaction that changed the mirror, so nothing uncommitted is sent and nothing committed
            // is forgotten. Per record, rows leave in id order (the head row of a record blocks the rest).
            try db.execute(sql: """
                CREATE TABLE destinations (
                    id TEXT PRIMARY KEY NOT NULL,
                    url TEXT NOT NULL,
                    tenant TEXT,
                    connection TEXT,
                    kinds TEXT NOT NULL,
                    record_types TEXT NOT NULL DEFAULT '',
                    state TEXT NOT NULL CHECK (state IN ('active', 'paused', 'disabled')),
                    reason TEXT,
                    failing_since INTEGER,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE destination_secrets (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    destination TEXT NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
                    sealed BLOB NOT NULL,
                    fingerprint TEXT NOT NULL,
                    added_at INTEGER NOT NULL,
                    retired_at INTEGER
                );
                CREATE TABLE deliveries (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    destination TEXT NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
                    kind TEXT NOT NULL,
                    webhook_id TEXT NOT NULL,
                    tenant TEXT NOT NULL,
                    connection TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    record_type TEXT,
                    record_id TEXT,
                    version INTEGER,
                    seq INTEGER,
                    payload BLOB NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER,
                    last_status INTEGER,
                    last_error TEXT,
                    last_response TEXT,
                    created_at INTEGER NOT NULL,
                    delivered_at INTEGER,
                    -- 'replay': sent again on the operator's request, at most a few per round so live changes
                    -- are not starved.
                    lane TEXT NOT NULL DEFAULT 'live' CHECK (lane IN ('live', 'replay'))
                );
                CREATE INDEX deliveries_due ON deliveries (destination, status, next_attempt_at) WHERE status = 'pending';
                CREATE INDEX deliveries_record ON deliveries (destination, connection, record_type, record_id, id) WHERE status = 'pending';
                """)
        },
        Migration("v15-dead-deliveries") { db in
            // Dead letters by record: counted per destination for `status` without reading delivered
            // rows, and looked up when pruning, so a delivered row that keeps an older dead one from
            // being retried (it would roll the receiver back) is kept as long as that dead one.
            try db.execute(sql: """
                CREATE INDEX deliveries_dead ON deliveries (destination, connection, record_type, record_id, id) WHERE status = 'dead';
                """)
        },
        Migration("v16-webhook-freshness") { db in
            // What the webhook watch knows of each connection's webhooks, kept across restarts: when the
            // last one came, which record types they bring, and a silence it raised (cleared by the next one).
            try db.execute(sql: """
                CREATE TABLE webhook_freshness (
                    connection TEXT PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
                    last_received_at INTEGER NOT NULL,
                    received INTEGER NOT NULL,
                    record_types TEXT NOT NULL,
                    silence_change_at INTEGER,
                    silence_detected_at INTEGER
                );
                """)
        },
    ]

    /// Applies, in one `BEGIN IMMEDIATE` transaction, every migration up to `last` (default: all)
    /// that the database has not applied. The check and the changes happen under the same write
    /// lock, which a second process waits for (busy timeout) and then finds nothing left to do.
    /// - Throws: `StoreError(.configuration)` when the database holds a migration this version does
    ///   not know: it was made by a newer Tributary, and running on it could corrupt it.
    static func migrate(_ db: Database, upTo last: String? = nil) throws {
        try db.inTransaction(.immediate) {
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            let applied = Set(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
            let known = Set(all.map(\.identifier))
            if let unknown = applied.subtracting(known).sorted().first {
                throw StoreError(.configuration, "the database was migrated by a newer Tributary (it holds migration \(unknown)); upgrade tributary to open it")
            }
            for migration in all {
                if !applied.contains(migration.identifier) {
                    try migration.apply(db)
                    try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [migration.identifier])
                }
                if migration.identifier == last { break }
            }
            return .commit
        }
    }
}
