import Foundation
import GRDB
import Logging
import Testing
import TributaryCore
import TributaryStore
import TributaryTesting

@Suite("Store")
struct StoreTests {

    static func withStore<T>(groupCommit: Bool = true, _ body: (Store, URL) async throws -> T) async throws -> T {
        let directory = try TestPaths.temporaryDirectory("store")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.appendingPathComponent("t.db").path, masterKey: TestSecrets.masterKey, groupCommit: groupCommit, logger: Logger(label: "test"))
        return try await body(store, directory)
    }

    /// The connection ``draft(_:connection:)`` appends to: the log takes no event for a connection it does not hold.
    static func addConnection(_ store: Store, _ id: String = "c1") async throws {
        _ = try await store.addConnection(id: id, provider: "github", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: ["s"], now: 0)
    }

    static func draft(_ id: String, connection: String = "c1") -> EventDraft {
        EventDraft(
            connection: connection, tenant: "acme", provider: "github", source: .webhook, eventId: id, type: "issues",
            record: RecordRef(recordType: "issue", recordId: "1", version: 5, deleted: false, fullState: true),
            occurredAt: nil, receivedAt: 1, headers: [("X-Test", "1")], body: Array("{\"n\":\"\(id)\"}".utf8), url: nil
        )
    }

    @Test("WAL and synchronous=FULL are in force on the writer")
    func durabilityPragmas() async throws {
        try await Self.withStore { store, _ in
            let settings = try await store.durabilitySettings()
            #expect(settings.journalMode == "wal")
            #expect(settings.synchronous == 2, "synchronous must be FULL (2), got \(settings.synchronous)")
        }
    }

    @Test("an append the store cannot commit fails with .unavailable and stores nothing")
    func unavailable() async throws {
        try await Self.withStore { store, directory in
            try await Self.addConnection(store)
            // Another process-like connection holds the write lock past the busy timeout.
            var configuration = Configuration()
            configuration.allowsUnsafeTransactions = true
            let blocker = try DatabaseQueue(path: directory.appendingPathComponent("t.db").path, configuration: configuration)
            try await blocker.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
            await #expect(throws: StoreError.self) { _ = try await store.append(Self.draft("blocked")) }
            do {
                _ = try await store.append(Self.draft("blocked2"))
                Issue.record("append succeeded while another connection held the write lock")
            } catch let error as StoreError {
                #expect(error.code == .unavailable)
            }
            try await blocker.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
            #expect(try await store.events(EventFilter()).isEmpty)
            _ = try await store.append(Self.draft("after"))
            #expect(try await store.events(EventFilter()).count == 1)
        }
    }

    @Test("secrets are sealed at rest, found by value for retirement, and need the same master key")
    func secrets() async throws {
        try await Self.withStore { store, directory in
            _ = try await store.addConnection(id: "c1", provider: "github", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: ["s3cr3t-value"], now: 0)
            let raw = try Data(contentsOf: directory.appendingPathComponent("t.db"))
                + ((try? Data(contentsOf: directory.appendingPathComponent("t.db-wal"))) ?? Data())
            #expect(raw.range(of: Data("s3cr3t-value".utf8)) == nil, "secret found in clear in the database file")
            try await store.addWebhookSecret(connection: "c1", secret: "next", now: 1)
            await #expect(throws: StoreError.self) { try await store.addWebhookSecret(connection: "c1", secret: "next", now: 1) }
            try await store.retireWebhookSecret(connection: "c1", secret: "s3cr3t-value", now: 2)
            let connection = try #require(try await store.connection(id: "c1"))
            #expect(connection.webhookSecrets == ["next"])
            #expect(connection.retiredSecretCount == 1)
            await #expect(throws: StoreError.self) { try await store.retireWebhookSecret(connection: "c1", secret: "unknown", now: 3) }

            let other = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="
            let wrongKey = try Store(path: directory.appendingPathComponent("t.db").path, masterKey: other, logger: Logger(label: "t"))
            await #expect(throws: StoreError.self) { _ = try await wrongKey.connection(id: "c1") }
        }
    }

    @Test("a handshake-delivered secret is stored only while the connection has none")
    func deliveredSecret() async throws {
        try await Self.withStore { store, _ in
            _ = try await store.addConnection(id: "a1", provider: "asana", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
            #expect(try await store.deliverWebhookSecret(connection: "a1", secret: "first", now: 1))
            #expect(try await store.deliverWebhookSecret(connection: "a1", secret: "second", now: 2) == false)
            #expect(try await store.connection(id: "a1")?.webhookSecrets == ["first"])
            #expect(try await store.deliverWebhookSecret(connection: "missing", secret: "x", now: 2) == false)
        }
    }

    @Test("the master key file is created 0600 and reused")
    func keyFile() async throws {
        let directory = try TestPaths.temporaryDirectory("key")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("k.db").path
        do {
            let store = try Store(path: path, masterKey: nil, logger: Logger(label: "t"))
            _ = try await store.addConnection(id: "c", provider: "github", tenant: "t", account: nil, toleranceSeconds: nil, webhookSecrets: ["s"], now: 0)
        }
        let mode = try FileManager.default.attributesOfItem(atPath: path + ".key")[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        let reopened = try Store(path: path, masterKey: nil, logger: Logger(label: "t"))
        #expect(try await reopened.connection(id: "c")?.webhookSecrets == ["s"])
    }
}
