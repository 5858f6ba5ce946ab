import Foundation
import Logging
import PostgresNIO
import Synchronization
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

extension PostgresStoreTests {
    @Test("PostgreSQL killed under load (pg_ctl stop -m immediate): every append acknowledged is there after recovery, appends meanwhile fail as unavailable, and the same store commits again once the server is back", .enabled(if: serverAvailable))
    func serverKilledUnderLoad() async throws {
        // A cluster of its own: the suite's shared one must not die under the other tests.
        let root = try TestPaths.temporaryDirectory("pg-kill")
        let cluster = root.appendingPathComponent("cluster").path
        defer { try? FileManager.default.removeItem(at: root) }
        let started = try await Self.cluster("start", cluster)
        do {
            try await Self.killUnderLoad(cluster: cluster, started: started)
        } catch {
            _ = try? await Self.cluster("stop", cluster)
            throw error
        }
        _ = try await Self.cluster("stop", cluster)
    }

    static func killUnderLoad(cluster: String, started: String) async throws {
        let url = try #require(started.split(separator: "\n").first { $0.hasPrefix("TRIBUTARY_TEST_POSTGRES_URL=") }).dropFirst("TRIBUTARY_TEST_POSTGRES_URL=".count)
        var options = PostgresOptions()
        options.store.busyTimeout = .seconds(2)
        options.connectTimeout = .seconds(2)
        let store = try await PostgresStore.open(location: PostgresLocation(url: String(url)), masterKey: TestSecrets.masterKey, options: options, logger: Self.logger)
        _ = try await store.addConnection(id: "c1", provider: "github", tenant: "acme", account: nil, app: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)

        let tally = TallyBox()
        let writers = Task {
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        var n = 0
                        while !tally.state.withLock({ $0.stop }) {
                            n += 1
                            let id = "w\(writer)-\(n)"
                            do throws(StoreError) {
                                _ = try await store.append(EventLogConformanceTests.draft(id))
                                tally.state.withLock { $0.acked.append(id) }
                            } catch {
                                tally.state.withLock { $0.failures.append(error) }
                                try? await Task.sleep(for: .milliseconds(50))
                            }
                        }
                    }
                }
            }
        }
        func wait(_ what: String, until condition: (TallyBox.Tally) -> Bool) async {
            print("postgres killed under load: waiting until \(what)")
            while !tally.state.withLock({ condition($0) }) { try? await Task.sleep(for: .milliseconds(20)) }
        }
        await wait("300 appends are acknowledged") { $0.acked.count >= 300 }
        _ = try await Self.cluster("kill", cluster)
        let ackedBeforeRestart = tally.state.withLock { $0.acked.count }
        await wait("16 appends failed") { $0.failures.count >= 16 }
        _ = try await Self.cluster("resume", cluster)
        let failuresDuringOutage = tally.state.withLock { $0.failures.count }
        await wait("300 more are acknowledged") { $0.acked.count >= ackedBeforeRestart + 300 }
        tally.state.withLock { $0.stop = true }
        await writers.value

        let outcome = tally.state.withLock { $0 }
        let stored = Set(try await store.events(EventFilter(limit: 1_000_000)).map(\.eventId))
        let lost = outcome.acked.filter { !stored.contains($0) }
        #expect(lost.isEmpty, "acknowledged but not in the log after recovery: \(lost.prefix(10))")
        #expect(Set(outcome.acked).count == outcome.acked.count)
        #expect(outcome.failures.allSatisfy { $0.code == .unavailable }, "\(outcome.failures.filter { $0.code != .unavailable }.prefix(3))")
        print("postgres killed under load: \(ackedBeforeRestart) acknowledged before the kill, \(failuresDuringOutage) appends refused during the outage, \(outcome.acked.count - ackedBeforeRestart) acknowledged after it (\(stored.count) events stored, 0 acknowledged lost)")
        await store.close()
    }

    /// What the writers of ``serverKilledUnderLoad()`` saw.
    final class TallyBox: Sendable {
        struct Tally {
            var acked: [String] = []
            var failures: [StoreError] = []
            var stop = false
        }

        let state = Mutex(Tally())
    }

    /// Runs scripts/postgres-cluster.sh VERB DIR and returns what it printed.
    ///
    /// Spawned and reaped by hand (posix_spawn, waitpid on a thread of its own): with Foundation's
    /// Process the script was left a zombie here, its exit never reported, and the test hung.
    static func cluster(_ verb: String, _ directory: String) async throws -> String {
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("pg-cluster-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: outputFile) }
        let script = TestPaths.repositoryRoot.appendingPathComponent("scripts/postgres-cluster.sh").path
        let status = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            Thread.detachNewThread {
                var actions = posix_spawn_file_actions_t()
                posix_spawn_file_actions_init(&actions)
                defer { posix_spawn_file_actions_destroy(&actions) }
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
                let argv = ["/bin/bash", script, verb, directory]
                var cArgs = argv.map { strdup($0) } + [nil]
                defer { for arg in cArgs { free(arg) } }
                var pid: pid_t = 0
                let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, &cArgs, environ)
                guard spawned == 0 else {
                    continuation.resume(throwing: StoreError(.internal, "cannot run postgres-cluster.sh: \(String(cString: strerror(spawned)))"))
                    return
                }
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                continuation.resume(returning: status)
            }
        }
        guard status == 0 else { throw StoreError(.internal, "postgres-cluster.sh \(verb) failed (wait status \(status))") }
        return (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
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
