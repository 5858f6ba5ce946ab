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
    let connectionCache = Mutex([String: (connection: Connection, loaded: ContinuousClock.Instant)]())
    /// Apps and app routes (`app` NUL `account` → connection id, or none) as app-level intake reads them.
    let appCache = Mutex(AppCache())

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
        let scheme = path.prefix(13).lowercased()
        if scheme.hasPrefix("postgres://") || scheme.hasPrefix("postgresql://") {
            // Never a file name: said plainly (without echoing the URL's password) instead of failing to create it.
            throw StoreError(.configuration, "--db (or TRIBUTARY_DB) names a PostgreSQL database, but the commands of this version run on SQLite only: the PostgreSQL store so far keeps the event log and connections (docs/operating.md#postgresql); give a SQLite file path")
        }
        self.path = path
        let location = Self.location(path, vfs: options.vfs)
        var configuration = Self.configuration(options)
        if options.readOnly {
            try Self.refuseDirectory(path)
            guard FileManager.default.fileExists(atPath: path) else {
                throw StoreError(.configuration, "no database at \(path) (check --db or TRIBUTARY_DB; `tributary serve` or `connections add` creates one)")
            }
            configuration.readonly = true
        } else {
            try Self.createPrivately(path, logger: logger)
            try Self.prepareSchema(location, path: path, configuration: configuration, busyTimeout: options.busyTimeout, upTo: nil)
        }
        let synchronous = options.unsafeSynchronousNormal ? 1 : 2
        let checkpointer = Checkpointer(location: location, configuration: configuration)
        do {
            database = try DatabaseConnections(checkpointer: checkpointer) { [configuration] in
                if configuration.readonly { return try Self.openReadOnly(location, path: path, configuration: configuration) }
                return try Self.openPool(location, path: path, configuration: configuration, synchronous: synchronous, checkpointer: checkpointer)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.opening(path, error)
        }
        box = try SecretBox.load(environment: masterKey, keyFile: path + ".key", create: !options.readOnly)
        writer = GroupCommitWriter(committer: SQLiteEventCommitter(database: database), options: options)
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
        try refuseDirectory(path)
        if path != ":memory:", !FileManager.default.fileExists(atPath: path) {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 { close(fd) } else if errno != EEXIST {
                let directory = Self.directory(of: path)
                let why = switch errno {
                case ENOENT, ENOTDIR: "the directory \(directory) does not exist"
                case EACCES, EPERM: "no permission to create files in \(directory)"
                case EROFS: "\(directory) is on a read-only file system"
                case EISDIR: "it is a directory"
                default: String(cString: strerror(errno))
                }
                throw StoreError(.configuration, "cannot create database \(path): \(why)")
            }
        }
        for file in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            guard stat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_mode & 0o077 != 0 else { continue }
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
            throw opening(path, error)
        }
    }

    /// A pool that only reads, on a database that must already be at this version's schema.
    private static func openReadOnly(_ location: String, path: String, configuration: Configuration) throws -> DatabasePool {
        let pool = try DatabasePool(path: location, configuration: configuration)
        let missing = try pool.read { db in
            guard try db.tableExists("grdb_migrations") else { return Migrations.all.count }
            let applied = Set(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
            return Migrations.all.filter { !applied.contains($0.identifier) }.count
        }
        guard missing == 0 else {
            throw StoreError(.configuration, "database \(path) is at an older schema (\(missing) migration(s) behind); a command that writes, such as `tributary serve`, upgrades it")
        }
        return pool
    }

    /// A `--db` that names a directory is refused in words before SQLite says "unable to open".
    private static func refuseDirectory(_ path: String) throws(StoreError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw StoreError(.configuration, "cannot open database \(path): it is a directory")
        }
    }

    /// The directory holding `path`, as given (`.` for a bare name). By hand: Foundation's
    /// `deletingLastPathComponent` traps on some one-character paths (`--db d` crashed).
    static func directory(of path: String) -> String {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// Why the database at `path` cannot be opened, in words an operator acts on: the SQLite result
    /// code read (missing directory, no permission, read-only, locked, not a database), not its text.
    static func opening(_ path: String, _ error: any Error) -> StoreError {
        guard let db = error as? DatabaseError else { return StoreError(.configuration, "cannot open database \(path): \(error)") }
        let directory = Self.directory(of: path)
        let sentence: String
        switch db.resultCode {
        case .SQLITE_CANTOPEN:
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) || !isDirectory.boolValue {
                sentence = "cannot open database \(path): the directory \(directory) does not exist"
            } else if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                sentence = "cannot open database \(path): it is a directory"
            } else {
                sentence = "cannot open database \(path): no permission to open it (or to create its -wal and -shm files in \(directory))"
            }
        case .SQLITE_READONLY:
            sentence = "database \(path) is read-only to this process (the file, its directory or its file system); commands that only read (events, records, status, connections list) still work"
        case .SQLITE_PERM, .SQLITE_AUTH:
            sentence = "no permission to use database \(path)"
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            sentence = "database \(path) is locked by another process; it waited the busy timeout (TRIBUTARY_DB_BUSY_TIMEOUT_MS raises it)"
        case .SQLITE_NOTADB:
            sentence = "\(path) is not a Tributary database (not an SQLite file)"
        case .SQLITE_CORRUPT:
            sentence = "database \(path) is damaged (SQLite reports corruption); restore it from a backup"
        case .SQLITE_FULL:
            sentence = "cannot write database \(path): the disk is full"
        case .SQLITE_IOERR:
            sentence = "cannot read or write database \(path): an I/O error (\(db.message ?? "no detail"))"
        default:
            sentence = "cannot open database \(path): \(db.message ?? "\(db.resultCode)")"
        }
        return StoreError(.configuration, sentence)
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
    /// - Parameter now: microseconds since the epoch (the caller's clock), recorded by the probe.
    public func isWritable(now: Int64) async -> Bool {
        if writer.isHealthy { return true }
        do {
            try await writer.probe(now: now)
            return true
        } catch {
            return false
        }
    }

    /// Intake's waiting appends and commits: the writer's own gauge.
    public var intakeQueue: IntakeQueueGauge { writer.gauge }

    /// Calls `observe` with the number of events of each group commit, after it commits (on the
    /// committing task: it must be quick).
    public func observeGroupCommits(_ observe: @escaping @Sendable (Int) -> Void) {
        writer.observer.withLock { $0 = observe }
    }

    // MARK: plumbing

    func readValue<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        try await read(body)
    }

    func writeValue<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        try await write(body)
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw StoreError.wrapping(error)
        }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw StoreError.wrapping(error)
        }
    }
}
