import Foundation
import GRDB
public import Logging
import Synchronization
public import TributaryCore

/// The only code that touches the database: one SQLite file in WAL mode with `synchronous=FULL`.
///
/// - Important: Opening fails unless WAL and `synchronous=FULL` are in force, because
///   `NORMAL` in WAL mode can lose acknowledged commits on power loss, and a 2xx
///   from intake promises the event survives exactly that.
public final class Store: Sendable {
    let database: DatabaseConnections
    let box: SecretBox
    let writer: GroupCommitWriter
    public let path: String
    private let connectionCache = Mutex([String: (connection: Connection, loaded: ContinuousClock.Instant)]())

    /// The pool in use (a new one after an I/O error: see ``DatabaseConnections``).
    var pool: DatabasePool { database.current }

    /// Opens (creating if needed) the database at `path` and migrates it.
    /// - Parameters:
    ///   - masterKey: `TRIBUTARY_MASTER_KEY`; when `nil` a key file `<path>.key` is used (created 0600).
    ///   - groupCommit: share one transaction between concurrent appends (default). `false` commits each
    ///     append on its own; it exists so the benchmark can measure what group commit buys.
    public convenience init(path: String, masterKey: String?, groupCommit: Bool = true, logger: Logger) throws(StoreError) {
        var options = StoreOptions()
        options.groupCommit = groupCommit
        try self.init(path: path, masterKey: masterKey, options: options, logger: logger)
    }

    /// Opens (creating if needed) the database at `path` and migrates it.
    ///
    /// Any number of processes may open a new or older database at once: the busy timeout is set
    /// before anything touches the file, and the migrations are checked and applied under one
    /// write lock (see ``Migrations/migrate(_:upTo:)``).
    public init(path: String, masterKey: String?, options: StoreOptions, logger: Logger) throws(StoreError) {
        self.path = path
        try Self.createPrivately(path, logger: logger)
        let location = Self.location(path, vfs: options.vfs)
        let configuration = Self.configuration(options)
        try Self.prepareSchema(location, path: path, configuration: configuration, busyTimeout: options.busyTimeout, upTo: nil)
        let synchronous = options.unsafeSynchronousNormal ? 1 : 2
        let checkpointer = Checkpointer(location: location, configuration: configuration)
        do {
            database = try DatabaseConnections(checkpointer: checkpointer) {
                try Self.openPool(location, path: path, configuration: configuration, synchronous: synchronous, checkpointer: checkpointer)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.configuration, "cannot open database \(path): \(error)")
        }
        box = try SecretBox.load(environment: masterKey, keyFile: path + ".key")
        writer = GroupCommitWriter(database: database, options: options)
        logger.debug("store opened", metadata: ["db.path": "\(path)"])
    }

    /// Creates a database at `path` migrated only up to `last`: tests of upgrades start from it.
    package static func createSchema(path: String, upTo last: String) throws {
        try prepareSchema(path, path: path, configuration: configuration(StoreOptions()), busyTimeout: .seconds(5), upTo: last)
    }

    /// A new database file is created 0600 before SQLite opens it: it holds every event's body and
    /// the sealed secrets, and SQLite gives the -wal and -shm files the mode of the database file.
    /// A database made by an older version (0644) is tightened too. One the process does not own
    /// is left as it is, and said so.
    private static func createPrivately(_ path: String, logger: Logger) throws(StoreError) {
        if path != ":memory:", !FileManager.default.fileExists(atPath: path) {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 { close(fd) } else if errno != EEXIST {
                throw StoreError(.configuration, "cannot create database \(path): \(String(cString: strerror(errno)))")
            }
        }
        for file in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            guard stat(file, &info) == 0, info.st_mode & 0o077 != 0 else { continue }
            if chmod(file, 0o600) == 0 {
                logger.notice("database file was readable by others; now 0600", metadata: ["db.path": "\(file)"])
            } else {
                logger.warning("database file is readable by others and cannot be made 0600", metadata: ["db.path": "\(file)"])
            }
        }
    }

    /// What SQLite opens: the path, or a `file:` URI naming the VFS to go through.
    private static func location(_ path: String, vfs: String?) -> String {
        guard let vfs else { return path }
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let encoded = absolute.split(separator: "/", omittingEmptySubsequences: false).map { PercentEncoding.encode(String($0)) }
        return "file:" + encoded.joined(separator: "/") + "?vfs=" + PercentEncoding.encode(vfs)
    }

    private static func configuration(_ options: StoreOptions) -> Configuration {
        var configuration = Configuration()
        // Set on each connection before it reads anything (GRDB does it first thing after opening).
        let timeout = options.busyTimeout.components
        configuration.busyMode = .timeout(Double(timeout.seconds) + Double(timeout.attoseconds) / 1e18)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        return configuration
    }

    /// Puts the database in WAL mode and applies the missing migrations, on one connection of its own.
    ///
    /// Switching a new database to WAL takes an exclusive lock that SQLite does not always wait for
    /// (a connection that already read the file gets `SQLITE_BUSY` at once rather than deadlock),
    /// so the switch is retried until the busy timeout; the migrations then wait on the write lock.
    private static func prepareSchema(
        _ location: String, path: String, configuration: Configuration, busyTimeout: Duration, upTo last: String?
    ) throws(StoreError) {
        let deadline = ContinuousClock.now + busyTimeout
        do {
            let queue = try DatabaseQueue(path: location, configuration: configuration)
            defer { try? queue.close() }
            try queue.writeWithoutTransaction { db in
                while true {
                    do {
                        let journal = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") ?? ""
                        guard journal.lowercased() == "wal" else {
                            throw StoreError(.configuration, "database \(path) cannot use WAL journaling (journal_mode is \(journal))")
                        }
                        break
                    } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && ContinuousClock.now < deadline {
                        usleep(UInt32.random(in: 2_000...20_000))
                    }
                }
                try Migrations.migrate(db, upTo: last)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.configuration, "cannot prepare database \(path): \(error)")
        }
    }

    /// Opens the connection pool and checks the durability settings on its writer.
    /// - Parameter synchronous: 2 (`FULL`), or 1 (`NORMAL`) for the test that shows `NORMAL` loses events.
    private static func openPool(
        _ location: String, path: String, configuration: Configuration, synchronous wanted: Int, checkpointer: Checkpointer
    ) throws -> DatabasePool {
        let pool = try DatabasePool(path: location, configuration: configuration)
        // DatabasePool resets `synchronous` after prepareDatabase; set it on the writer afterwards and check.
        let (journal, synchronous) = try pool.writeWithoutTransaction { db -> (String, Int) in
            try db.execute(sql: "PRAGMA synchronous = \(wanted)")
            checkpointer.install(on: db)
            let journal = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? ""
            let synchronous = try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
            return (journal, synchronous)
        }
        guard journal.lowercased() == "wal" else {
            throw StoreError(.configuration, "database \(path) cannot use WAL journaling (journal_mode is \(journal))")
        }
        guard synchronous == wanted else {
            throw StoreError(.configuration, "database \(path) refused synchronous=FULL (got \(synchronous))")
        }
        return pool
    }

    /// Closes every connection to the database. The store must not be used afterwards; tests that
    /// reopen the same file in the same process (a simulated power cut) need the old connections gone.
    package func closeConnections() throws {
        try database.close()
    }

    /// The pragmas in force on the writer connection, for tests and `status`.
    public func durabilitySettings() async throws -> (journalMode: String, synchronous: Int) {
        try await pool.writeWithoutTransaction { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "", try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1)
        }
    }

    /// Whether the store can commit (readiness): yes while intake's last commit succeeded; after a
    /// failure, only once a probe commit succeeds (so `/readyz` answers 503 until the fault clears).
    public func isWritable() async -> Bool {
        if writer.isHealthy { return true }
        do {
            try await writer.probe(now: Int64(Date().timeIntervalSince1970 * 1_000_000))
            return true
        } catch {
            return false
        }
    }

    /// Intake's waiting appends and commits: the writer's own gauge.
    public var intakeQueue: IntakeQueueGauge { writer.gauge }

    // MARK: events

    /// Appends one event durably: returns only after the transaction holding it has committed.
    /// - Parameter reservation: room intake took with ``reserveIntake(bytes:)`` before reading the
    ///   body; without one the append takes its own (and is refused at once past the bound).
    /// - Throws: `.overloaded` past the bound, `.unavailable` when the database cannot commit.
    public func append(_ draft: EventDraft, reservation: IntakeReservation? = nil) async throws(StoreError) -> AppendResult {
        try await writer.append(draft, reservation: reservation)
    }

    /// Takes room for one webhook of about `bytes` (its body and headers) among those intake may
    /// hold at once (``StoreOptions/maxWaitingEvents``, ``StoreOptions/maxWaitingBytes``), before its
    /// body is read; ``releaseIntake(_:)`` gives it back once the request is answered.
    /// - Throws: `.overloaded` when the bound is reached: answer 503 without reading the body.
    public func reserveIntake(bytes: Int) throws(StoreError) -> IntakeReservation {
        try writer.reserve(bytes: bytes)
    }

    public func releaseIntake(_ reservation: IntakeReservation) {
        writer.release(reservation)
    }

    /// Number of commits made by the group-commit writer (for benchmarks).
    public var commitCount: Int { writer.gauge.commits }

    public func events(_ filter: EventFilter) async throws(StoreError) -> [StoredEvent] {
        try await read { db in try EventLog.list(filter, db: db) }
    }

    public func event(seq: Int64) async throws(StoreError) -> StoredEvent? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM events WHERE seq = ?", arguments: [seq]).map(EventLog.event) }
    }

    /// Event counts by status, for `status` and tests.
    public func eventCounts(connection: String? = nil) async throws(StoreError) -> [EventStatus: Int] {
        try await read { db in
            // Every status but `applied` from its index; `applied` is what remains of the total.
            let rows = try Row.fetchAll(db, sql: """
                SELECT status, COUNT(*) AS n FROM events WHERE \(EventLog.unapplied) AND (?1 IS NULL OR connection = ?1) GROUP BY status
                """, arguments: [connection])
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE (?1 IS NULL OR connection = ?1)", arguments: [connection]) ?? 0
            var counts: [EventStatus: Int] = [:]
            for row in rows {
                if let status = EventStatus(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            let applied = total - counts.values.reduce(0, +)
            if applied > 0 { counts[.applied] = applied }
            return counts
        }
    }

    // MARK: connections

    /// Creates a connection; its id must be new.
    public func addConnection(
        id: String, provider: String, tenant: String, account: String?, toleranceSeconds: Int?,
        webhookSecrets: [String], now: Int64
    ) async throws(StoreError) -> Connection {
        let sealed = try webhookSecrets.map { secret throws(StoreError) in (try box.seal(secret), box.fingerprint(secret)) }
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM connections WHERE id = ?", arguments: [id]) == true {
                throw StoreError(.conflict, "connection \(id) already exists")
            }
            try db.execute(sql: """
                INSERT INTO connections (id, provider, tenant, account, tolerance_seconds, created_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [id, provider, tenant, account, toleranceSeconds, now])
            for (blob, fingerprint) in sealed {
                try db.execute(sql: """
                    INSERT INTO connection_secrets (connection, purpose, sealed, fingerprint, added_at) VALUES (?, 'webhook', ?, ?, ?)
                    """, arguments: [id, blob, fingerprint, now])
            }
        }
        guard let connection = try await connection(id: id) else { throw StoreError(.internal, "connection \(id) vanished after insert") }
        return connection
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
    }

    public func connections() async throws(StoreError) -> [Connection] {
        let box = self.box
        return try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM connections ORDER BY id").map { row in
                try Self.makeConnection(row, db: db, box: box)
            }
        }
    }

    private static func makeConnection(_ row: Row, db: Database, box: SecretBox) throws -> Connection {
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
            id: row["id"], provider: row["provider"], tenant: row["tenant"], account: row["account"],
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
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM connections WHERE id = ?", arguments: [id]) == true else {
                throw StoreError(.notFound, "no connection \(id)")
            }
            let events = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE connection = ?", arguments: [id]) ?? 0
            let records = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM records WHERE connection = ?", arguments: [id]) ?? 0
            if !purge, events + records > 0 {
                throw StoreError(.conflict, "connection \(id) still has \(events) event(s) and \(records) record(s); remove it with --purge to delete them too")
            }
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

    // MARK: plumbing

    func readValue<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        try await read(body)
    }

    func writeValue<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        try await write(body)
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw StoreError.wrapping(error)
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw StoreError.wrapping(error)
        }
    }
}
