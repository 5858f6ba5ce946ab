import Foundation
import Logging
import PostgresNIO
import Synchronization
import TributaryCore
public import TributaryPostgres
public import TributaryStore
import TributaryTesting

/// The stores the conformance suite runs every test of a contract against.
public enum StoreKind: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// The server the PostgreSQL runs use: `TRIBUTARY_TEST_POSTGRES_URL` (`.ci/run` starts a private
    /// cluster with scripts/postgres-cluster.sh and sets it). Each test gets a database of its own on it.
    public static var postgresURL: String? {
        guard let url = ProcessInfo.processInfo.environment["TRIBUTARY_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        return url
    }

    /// The kinds this run can start: SQLite always, PostgreSQL when a server is named.
    public static var available: [StoreKind] {
        postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }
}

/// The contracts the conformance suite checks, as one existential.
public typealias ConformingStore = any EventLogStore & ConnectionStore & LeaseStore & SettingsStore & PollCursorStore & FreshnessStore

/// A fresh, empty store of one kind: a SQLite file in a temp dir, or a new database on the test
/// PostgreSQL server, dropped again by ``close()``. ``open()`` opens another store on the same
/// database: a second node, or the same node after a restart.
public final class StoreUnderTest: Sendable {
    public let kind: StoreKind
    /// The first store opened.
    public let store: ConformingStore
    private let directory: URL?
    private let database: PostgresLocation?
    private let opened: Mutex<[ConformingStore]>

    private init(kind: StoreKind, store: ConformingStore, directory: URL?, database: PostgresLocation?) {
        self.kind = kind
        self.store = store
        self.directory = directory
        self.database = database
        opened = Mutex([store])
    }

    public static func make(_ kind: StoreKind, options: StoreOptions = StoreOptions()) async throws -> StoreUnderTest {
        switch kind {
        case .sqlite:
            let directory = try TestPaths.temporaryDirectory("conformance")
            let store = try Store(path: directory.appendingPathComponent("t.db").path, masterKey: TestSecrets.masterKey, options: options, logger: logger)
            return StoreUnderTest(kind: kind, store: store, directory: directory, database: nil)
        case .postgres:
            let location = try await PostgresTestServer.createDatabase()
            let store = try await PostgresStore.open(location: location, masterKey: TestSecrets.masterKey, options: postgresOptions(options), logger: logger)
            return StoreUnderTest(kind: kind, store: store, directory: nil, database: location)
        }
    }

    /// Runs `body` on a fresh store of `kind`, then closes it (and removes its database) however
    /// `body` ends. Prints `store conformance on KIND`, which `.ci/run` looks for to know the
    /// PostgreSQL half ran.
    public static func with<T>(_ kind: StoreKind, options: StoreOptions = StoreOptions(), _ body: (StoreUnderTest) async throws -> T) async throws -> T {
        print("store conformance on \(kind)")
        let subject = try await make(kind, options: options)
        do {
            let value = try await body(subject)
            await subject.close()
            return value
        } catch {
            await subject.close()
            throw error
        }
    }

    /// Another store on the same database (closed by ``close()``).
    public func open(options: StoreOptions = StoreOptions()) async throws -> ConformingStore {
        let another: ConformingStore
        if let directory {
            another = try Store(path: directory.appendingPathComponent("t.db").path, masterKey: TestSecrets.masterKey, options: options, logger: Self.logger)
        } else if let database {
            another = try await PostgresStore.open(location: database, masterKey: TestSecrets.masterKey, options: Self.postgresOptions(options), logger: Self.logger)
        } else {
            preconditionFailure("a store under test has a directory or a database")
        }
        opened.withLock { $0.append(another) }
        return another
    }

    /// Closes every store opened and removes the database.
    public func close() async {
        for store in opened.withLock({ stores in defer { stores = [] }; return stores }) {
            if let store = store as? PostgresStore { await store.close() }
            if let store = store as? Store { try? store.closeConnections() }
        }
        if let directory { try? FileManager.default.removeItem(at: directory) }
        if let database { try? await PostgresTestServer.dropDatabase(database.database) }
    }

    static let logger = Logger(label: "store-under-test")

    /// The conformance suite checks what is stored, not how fast: on a machine running the whole
    /// suite on two cores, a commit that must first open connections (each a SCRAM exchange, its
    /// key derivation in a debug build) can take longer than the 5 s intake allows in production.
    static func postgresOptions(_ options: StoreOptions) -> PostgresOptions {
        var postgres = PostgresOptions()
        postgres.store = options
        postgres.store.busyTimeout = max(options.busyTimeout, .seconds(60))
        postgres.poolSize = 8
        return postgres
    }
}

/// The test PostgreSQL server (``StoreKind/postgresURL``): databases made and dropped for tests.
public enum PostgresTestServer {
    /// The server's own location, as the URL names it.
    public static func serverLocation() throws -> PostgresLocation {
        guard let url = StoreKind.postgresURL else {
            throw StoreError(.configuration, "TRIBUTARY_TEST_POSTGRES_URL is not set (scripts/postgres-cluster.sh start DIR prints one)")
        }
        return try PostgresLocation(url: url)
    }

    /// Creates an empty database with a new name and returns where it is.
    public static func createDatabase() async throws -> PostgresLocation {
        var location = try serverLocation()
        let name = "tributary_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await execute("CREATE DATABASE \(name)")
        location.database = name
        return location
    }

    /// Drops a database made by ``createDatabase()``, closing whatever is still connected to it.
    public static func dropDatabase(_ name: String) async throws {
        precondition(name.hasPrefix("tributary_t_"), "only test databases are dropped")
        try await execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs statements on `database` (default: the server's own), one at a time.
    public static func execute(_ statements: String..., on database: String? = nil) async throws {
        _ = try await withClient(on: database) { client in
            for statement in statements { try await client.query(PostgresQuery(unsafeSQL: statement)) }
            return [[String]]()
        }
    }

    /// The rows of one query on `database`, each column cast to text by the query.
    public static func query(_ sql: String, on database: String? = nil) async throws -> [[String]] {
        try await withClient(on: database) { client in
            var rows: [[String]] = []
            for try await row in try await client.query(PostgresQuery(unsafeSQL: sql)) {
                rows.append(try row.map { try $0.decode(String?.self) ?? "NULL" })
            }
            return rows
        }
    }

    private static func withClient(on database: String?, _ body: @Sendable (PostgresClient) async throws -> [[String]]) async throws -> [[String]] {
        var location = try serverLocation()
        if let database { location.database = database }
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable
        )
        configuration.options.maximumConnections = 1
        let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "postgres-test-server"))
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        return try await body(client)
    }
}
