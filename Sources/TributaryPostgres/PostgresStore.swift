import Foundation
public import Logging
import NIOSSL
import PostgresNIO
public import TributaryCore
public import TributaryStore

/// How a ``PostgresStore`` talks to its database.
public struct PostgresOptions: Sendable {
    /// Connections this node keeps at most (`TRIBUTARY_PG_POOL_SIZE`, default 16).
    public var poolSize = 16
    /// A statement running longer is cancelled by the server (`TRIBUTARY_PG_STATEMENT_TIMEOUT_MS`,
    /// default 30 s), so a stuck lock fails a request instead of holding it forever.
    public var statementTimeout: Duration = .seconds(30)
    /// How long opening the store waits for the database to answer.
    public var connectTimeout: Duration = .seconds(10)
    /// Intake's bounds (``StoreOptions/maxWaitingEvents``, ``StoreOptions/maxWaitingBytes``) and group commit.
    public var store = StoreOptions()

    public init() {}
}

/// The store on PostgreSQL: several `serve` nodes on one database.
///
/// Durability is PostgreSQL's commit with `synchronous_commit` on: opening refuses a database whose
/// session (by role, database or server setting) would turn it off, or that runs with `fsync=off`,
/// since either acknowledges commits a crash can lose (measured in reliability-and-security.md §1.2).
/// Secrets are sealed with `TRIBUTARY_MASTER_KEY`, which every node must share: the database keeps a
/// keyed check value, and a node with another key refuses to start rather than seal with it.
public final class PostgresStore: Sendable {
    let client: PostgresClient
    private let runner: Task<Void, Never>
    let box: SecretBox
    let writer: GroupCommitWriter
    let logger: Logger
    public let location: PostgresLocation
    /// The longest any read or write other than intake's waits: the statement timeout, plus the
    /// busy timeout to get a connection.
    let operationLimit: Duration

    private init(client: PostgresClient, runner: Task<Void, Never>, box: SecretBox, options: PostgresOptions, location: PostgresLocation, logger: Logger) {
        self.client = client
        self.runner = runner
        self.box = box
        self.location = location
        self.logger = logger
        operationLimit = options.statementTimeout + options.store.busyTimeout
        let committer = PostgresEventCommitter(client: client, logger: logger, limit: options.store.busyTimeout)
        writer = GroupCommitWriter(committer: committer, options: options.store)
    }

    /// Connects, checks durability and the master key, and migrates (once, across nodes).
    /// - Throws: `.configuration` naming the setting at fault, `.unavailable` when the database
    ///   cannot be reached within ``PostgresOptions/connectTimeout``.
    public static func open(location: PostgresLocation, masterKey: String?, options: PostgresOptions = PostgresOptions(), logger: Logger) async throws(StoreError) -> PostgresStore {
        let box = try SecretBox.sharedKey(environment: masterKey)
        let client = PostgresClient(configuration: configuration(location, options), backgroundLogger: logger)
        let runner = Task { await client.run() }
        let store = PostgresStore(client: client, runner: runner, box: box, options: options, location: location, logger: logger)
        do throws(StoreError) {
            try await withDeadline(options.connectTimeout + .seconds(5), doing: "cannot reach PostgreSQL at \(location.redacted)") {
                try await store.checkDurability()
            }
            _ = try await PostgresMigrations.migrate(client, logger: logger, now: Int64(Date().timeIntervalSince1970))
            try await store.checkMasterKey()
        } catch {
            await store.close()
            throw error
        }
        logger.debug("store opened", metadata: ["db": "\(location.redacted)"])
        return store
    }

    /// Closes every connection; the store cannot be used after.
    public func close() async {
        runner.cancel()
        _ = await runner.value
    }

    private static func configuration(_ location: PostgresLocation, _ options: PostgresOptions) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch location.tls {
        case .disable:
            tls = .disable
        case .prefer, .require:
            // libpq's prefer and require encrypt without checking whom they talk to.
            var unverified = TLSConfiguration.makeClientConfiguration()
            unverified.certificateVerification = .none
            tls = location.tls == .prefer ? .prefer(unverified) : .require(unverified)
        case .verifyFull:
            tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: tls
        )
        configuration.options.maximumConnections = options.poolSize
        configuration.options.connectTimeout = options.connectTimeout
        let timeout = options.statementTimeout.components
        let milliseconds = timeout.seconds * 1000 + timeout.attoseconds / 1_000_000_000_000_000
        configuration.options.additionalStartupParameters = [
            ("application_name", "tributary"),
            ("statement_timeout", String(max(1, milliseconds))),
        ]
        return configuration
    }

    /// Refuses a session that would acknowledge commits a crash can lose.
    private func checkDurability() async throws(StoreError) {
        let (synchronous, fsync) = try await readValue(doing: "cannot reach PostgreSQL at \(location.redacted)") { client, logger in
            let rows = try await client.query("SELECT current_setting('synchronous_commit'), current_setting('fsync')", logger: logger)
            for try await pair in rows.decode((String, String).self) { return pair }
            return ("", "")
        }
        guard synchronous != "off" else {
            throw StoreError(.configuration, "PostgreSQL at \(location.redacted) runs this session with synchronous_commit=off (set for the server, database or role \(location.user)): a crash could lose events already acknowledged; set it on")
        }
        guard fsync != "off" else {
            throw StoreError(.configuration, "PostgreSQL at \(location.redacted) runs with fsync=off: a crash could lose events already acknowledged; set it on")
        }
    }

    /// The first node to open the database records a keyed check value of its master key; every
    /// later node must produce the same one.
    private func checkMasterKey() async throws(StoreError) {
        let check = box.fingerprint("tributary master key check")
        let stored = try await readValue(doing: "cannot read the master key's check value") { client, logger in
            try await client.query("""
                INSERT INTO settings (key, value) VALUES ('master_key.check', \(check)) ON CONFLICT (key) DO NOTHING
                """, logger: logger)
            for try await value in try await client.query("SELECT value FROM settings WHERE key = 'master_key.check'", logger: logger).decode(String.self) {
                return value
            }
            return check
        }
        guard stored == check else {
            throw StoreError(.configuration, "TRIBUTARY_MASTER_KEY is not the key this database's secrets were sealed with (another node started with a different key); give every node the same key")
        }
    }

    /// Runs `body` against the pool, mapping its failure (anything but a store error is `.unavailable`),
    /// within the statement timeout and the time to get a connection.
    func readValue<T: Sendable>(doing what: String = "database cannot be read", _ body: @escaping @Sendable (PostgresClient, Logger) async throws -> T) async throws(StoreError) -> T {
        let (client, logger) = (self.client, self.logger)
        return try await withDeadline(operationLimit, doing: what) { try await body(client, logger) }
    }

    /// Runs `body` in one transaction, within the statement timeout and the time to get a connection.
    func transaction<T: Sendable>(doing what: String = "database cannot commit", _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws(StoreError) -> T {
        let (client, logger) = (self.client, self.logger)
        return try await withDeadline(operationLimit, doing: what) {
            try await client.withTransaction(logger: logger) { connection in try await body(connection, logger) }
        }
    }
}
