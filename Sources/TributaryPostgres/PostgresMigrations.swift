import Logging
import PostgresNIO
import TributaryCore

/// The PostgreSQL schema, as named steps applied in order, once, whatever the number of nodes
/// starting at once: all of them run under one transaction-scoped advisory lock, so a second node
/// waits for the first to commit and then finds nothing left to do.
///
/// The tables keep SQLite's names, columns and checks (DESIGN.md: one contract, two stores), with
/// PostgreSQL's types: `bigint` for times and counts, `bytea` for bodies and sealed secrets,
/// `boolean` for flags, an identity column for the log's sequence.
enum PostgresMigrations {
    struct Step {
        let name: String
        /// One statement each: the extended query protocol takes one at a time.
        let statements: [String]
    }

    /// `pg_advisory_xact_lock`'s key: "tributary" in ASCII, so it stands out in `pg_locks`.
    static let lockKey: Int64 = 0x7472_6962_7574_6172

    static let all: [Step] = [
        Step(name: "v1-connections-and-events", statements: [
            """
            CREATE TABLE settings (
                key text PRIMARY KEY,
                value text NOT NULL
            )
            """,
            """
            CREATE TABLE leases (
                name text PRIMARY KEY,
                holder text NOT NULL,
                expires_at bigint NOT NULL
            )
            """,
            """
            CREATE TABLE apps (
                id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
                provider text NOT NULL,
                client_id text,
                app_id text,
                created_at bigint NOT NULL
            )
            """,
            """
            CREATE TABLE app_secrets (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                app text NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
                purpose text NOT NULL CHECK (purpose IN ('webhook', 'client-secret', 'private-key')),
                sealed bytea NOT NULL,
                fingerprint text NOT NULL,
                added_at bigint NOT NULL,
                retired_at bigint
            )
            """,
            "CREATE INDEX app_secrets_by_app ON app_secrets(app, purpose)",
            """
            CREATE TABLE connections (
                id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
                provider text NOT NULL,
                tenant text NOT NULL CHECK (length(tenant) > 0),
                account text,
                app text REFERENCES apps(id),
                tolerance_seconds bigint CHECK (tolerance_seconds IS NULL OR tolerance_seconds >= 0),
                api_base_url text,
                created_at bigint NOT NULL
            )
            """,
            "CREATE INDEX connections_by_account ON connections(provider, account)",
            "CREATE UNIQUE INDEX connections_by_app_account ON connections(app, account) WHERE app IS NOT NULL",
            """
            CREATE TABLE connection_secrets (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                connection text NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
                purpose text NOT NULL CHECK (purpose IN ('webhook', 'api')),
                sealed bytea NOT NULL,
                fingerprint text NOT NULL,
                added_at bigint NOT NULL,
                retired_at bigint
            )
            """,
            "CREATE INDEX connection_secrets_by_connection ON connection_secrets(connection, purpose)",
            """
            CREATE TABLE events (
                seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                connection text NOT NULL,
                tenant text NOT NULL,
                provider text NOT NULL,
                source text NOT NULL CHECK (source IN ('webhook', 'poll', 'fetch', 'sweep')),
                event_id text NOT NULL,
                type text,
                record_type text,
                record_id text,
                version bigint,
                deleted boolean NOT NULL DEFAULT false,
                full_state boolean NOT NULL DEFAULT false,
                occurred_at bigint,
                received_at bigint NOT NULL,
                status text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'applied', 'superseded', 'quarantined', 'failed', 'dead')),
                reason text,
                headers text NOT NULL,
                body bytea NOT NULL,
                url text,
                applications bigint NOT NULL DEFAULT 0 CHECK (applications >= 0),
                attempts bigint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                next_attempt_at bigint,
                generation bigint,
                read_fence bigint,
                body_digest text,
                awaiting_fetch text CHECK (awaiting_fetch IS NULL OR awaiting_fetch IN (
                    'no-version', 'thin-payload', 'conflicting-content', 'untrusted-version', 'fenced',
                    'confirm-regression', 'suspected-deleted', 'unspecified')),
                incarnation bigint,
                UNIQUE (connection, event_id),
                CHECK ((record_type IS NULL) = (record_id IS NULL))
            )
            """,
            "CREATE INDEX events_by_connection ON events(connection, seq)",
            """
            CREATE TABLE webhook_freshness (
                connection text PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
                last_received_at bigint NOT NULL,
                received bigint NOT NULL,
                record_types text NOT NULL,
                silence_change_at bigint,
                silence_detected_at bigint
            )
            """,
            """
            CREATE TABLE poll_cursors (
                connection text NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
                resource text NOT NULL,
                cursor text NOT NULL DEFAULT '{}',
                last_run_started_at bigint,
                last_run_finished_at bigint,
                next_run_at bigint,
                last_error text,
                last_anomaly text,
                pages bigint NOT NULL DEFAULT 0 CHECK (pages >= 0),
                observations bigint NOT NULL DEFAULT 0 CHECK (observations >= 0),
                last_change_at bigint,
                stalled_runs bigint NOT NULL DEFAULT 0 CHECK (stalled_runs >= 0),
                PRIMARY KEY (connection, resource)
            )
            """,
            "CREATE INDEX events_unapplied ON events(status, seq) WHERE status <> 'applied'",
            "CREATE INDEX events_by_body_digest ON events(connection, body_digest, received_at) WHERE body_digest IS NOT NULL",
        ]),
    ]

    /// Applies every step not yet applied, in one transaction under the advisory lock.
    /// - Returns: the names of the steps this call applied (empty when another node had).
    /// - Throws: `.configuration` when the database holds a step this build does not know (a newer
    ///   Tributary migrated it: running an older one beside it would write what the newer one misreads).
    static func migrate(_ client: PostgresClient, logger: Logger, now: Int64) async throws(StoreError) -> [String] {
        do {
            return try await client.withTransaction(logger: logger) { connection -> [String] in
                try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS tributary_migrations (name text PRIMARY KEY, applied_at bigint NOT NULL)
                    """, logger: logger)
                var applied = Set<String>()
                for try await name in try await connection.query("SELECT name FROM tributary_migrations", logger: logger).decode(String.self) {
                    applied.insert(name)
                }
                let known = Set(all.map(\.name))
                if let unknown = applied.subtracting(known).sorted().first {
                    throw StoreError(.configuration, "the database was migrated by a newer Tributary (step \(unknown)); run that version or newer")
                }
                var ran: [String] = []
                for step in all where !applied.contains(step.name) {
                    for statement in step.statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query("INSERT INTO tributary_migrations (name, applied_at) VALUES (\(step.name), \(now))", logger: logger)
                    ran.append(step.name)
                }
                return ran
            }
        } catch {
            throw PostgresFailure.storeError(error, doing: "cannot migrate the database")
        }
    }
}
