import Foundation
import Logging
import PostgresNIO
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryPostgres
import TributaryStore
import TributaryTesting

/// What only the PostgreSQL store promises (the shared contract is in the conformance suites):
/// how its URL is read, what durability it refuses, the key every node must share, and migrations
/// that run once however many nodes start together. These need a server, except the URL table.
@Suite("PostgreSQL store")
struct PostgresStoreTests {
    static let serverAvailable = StoreKind.postgresURL != nil
    static let logger = Logger(label: "postgres-store-test")

    @Test("database URLs: libpq's form and defaults are read; every malformed one is one sentence, never echoing the password")
    func urls() throws {
        let good = try PostgresLocation(url: "postgres://app:p%40ss@db.internal:6432/tributary?sslmode=verify-full")
        #expect(good == PostgresLocation.sample(host: "db.internal", port: 6432, user: "app", password: "p@ss", database: "tributary", tls: .verifyFull))
        #expect(good.redacted == "postgres://app:***@db.internal:6432/tributary?sslmode=verify-full")
        let defaults = try PostgresLocation(url: "postgresql://app@127.0.0.1")
        #expect(defaults == PostgresLocation.sample(host: "127.0.0.1", port: 5432, user: "app", password: nil, database: "app", tls: .prefer))
        #expect(try PostgresLocation(url: "postgres://u:p@[::1]:5433/d").host == "::1")
        #expect(PostgresLocation.isPostgres("POSTGRES://x") && !PostgresLocation.isPostgres("./tributary.db"))

        let hostile: [(String, String)] = [
            ("postgres://:pw@host/db", "names no user"),
            ("postgres://user:pw@/db", "names no host"),
            ("postgres://user:pw@host:0/db", "outside 1–65535"),
            ("postgres://user:pw@host:99999/db", "outside 1–65535"),
            ("postgres://user:pw@host:/db", "empty port"),
            ("postgres://user:pw@host/db?sslmode=always", "sslmode=always"),
            ("postgres://user:pw@host/db?host=/var/run/postgresql", "parameter host"),
            ("postgres://user:pw@host/db/extra", "not one database name"),
            ("postgres://user:pw word@host/db", "space or control character"),
            ("postgres://user:pw@host/db\n", "space or control character"),
            ("mysql://user:pw@host/db", "not a postgres:// URL"),
        ]
        for (url, why) in hostile {
            #expect {
                _ = try PostgresLocation(url: url)
            } throws: { error in
                let text = "\(error)"
                return (error as? StoreError)?.code == .configuration && text.contains(why) && !text.contains("pw")
            }
        }
    }

    @Test("a database whose sessions run with synchronous_commit=off is refused with a sentence saying why", .enabled(if: serverAvailable))
    func synchronousCommitOff() async throws {
        let location = try await PostgresTestServer.createDatabase()
        try await PostgresTestServer.execute("ALTER DATABASE \(location.database) SET synchronous_commit = off")
        do {
            let store = try await PostgresStore.open(location: location, masterKey: TestSecrets.masterKey, logger: Self.logger)
            await store.close()
            Issue.record("a store opened on a database with synchronous_commit=off")
        } catch {
            #expect(error.code == .configuration)
            #expect("\(error)".contains("synchronous_commit=off"), "\(error)")
        }
        // Nothing was migrated: the refusal came before the schema.
        #expect(try await PostgresTestServer.query("SELECT to_regclass('tributary_migrations')::text", on: location.database) == [["NULL"]])
        try await PostgresTestServer.execute("ALTER DATABASE \(location.database) SET synchronous_commit = on")
        let store = try await PostgresStore.open(location: location, masterKey: TestSecrets.masterKey, logger: Self.logger)
        await store.close()
        try await PostgresTestServer.dropDatabase(location.database)
    }

    @Test("a node started with another master key is refused; the key is required at all", .enabled(if: serverAvailable))
    func masterKey() async throws {
        let location = try await PostgresTestServer.createDatabase()
        let first = try await PostgresStore.open(location: location, masterKey: TestSecrets.masterKey, logger: Self.logger)
        _ = try await first.addConnection(id: "c1", provider: "github", tenant: "acme", account: nil, app: nil, toleranceSeconds: nil, webhookSecrets: ["s"], now: 0)
        await first.close()
        let other = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="
        await #expect {
            _ = try await PostgresStore.open(location: location, masterKey: other, logger: Self.logger)
        } throws: { error in
            (error as? StoreError)?.code == .configuration && "\(error)".contains("not the key this database's secrets were sealed with")
        }
        await #expect {
            _ = try await PostgresStore.open(location: location, masterKey: nil, logger: Self.logger)
        } throws: { error in
            (error as? StoreError)?.code == .configuration && "\(error)".contains("TRIBUTARY_MASTER_KEY is not set")
        }
        try await PostgresTestServer.dropDatabase(location.database)
    }

    @Test("eight nodes opening a new database at once migrate it once", .enabled(if: serverAvailable))
    func migrationsRace() async throws {
        let location = try await PostgresTestServer.createDatabase()
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<8 {
                group.addTask { try await PostgresStore.open(location: location, masterKey: TestSecrets.masterKey, logger: Self.logger) }
            }
            return try await group.reduce(into: [PostgresStore]()) { $0.append($1) }
        }
        #expect(stores.count == 8)
        _ = try await stores[0].addConnection(id: "c1", provider: "github", tenant: "acme", account: nil, app: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
        #expect(try await stores[7].connection(id: "c1") != nil)
        for store in stores { await store.close() }
        let counts = try await PostgresTestServer.query("SELECT name, count(*)::text FROM tributary_migrations GROUP BY name", on: location.database)
        #expect(!counts.isEmpty)
        #expect(counts.allSatisfy { $0[1] == "1" }, "each step applied once: \(counts)")
        try await PostgresTestServer.dropDatabase(location.database)
    }

    @Test("an address where no server listens fails fast as unavailable, naming the redacted URL")
    func unreachable() async throws {
        // A port on loopback nobody listens on: bound and closed again, so nothing leaves the machine.
        let port = try FreePort.take()
        let location = try PostgresLocation(url: "postgres://u:hunter2@127.0.0.1:\(port)/db?sslmode=disable")
        var options = PostgresOptions()
        options.connectTimeout = .seconds(1)
        await #expect {
            _ = try await PostgresStore.open(location: location, masterKey: TestSecrets.masterKey, options: options, logger: Self.logger)
        } throws: { error in
            let text = "\(error)"
            return (error as? StoreError)?.code == .unavailable && text.contains("127.0.0.1:\(port)") && !text.contains("hunter2")
        }
    }
}

extension PostgresLocation {
    static func sample(host: String, port: Int, user: String, password: String?, database: String, tls: TLSMode) -> PostgresLocation {
        var location = try! PostgresLocation(url: "postgres://x@y")
        location.host = host
        location.port = port
        location.user = user
        location.password = password
        location.database = database
        location.tls = tls
        return location
    }
}
