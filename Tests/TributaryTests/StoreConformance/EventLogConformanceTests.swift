import Foundation
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryStore

/// The event log's and the connections' contracts, run against every store this run can start:
/// SQLite always, PostgreSQL when `TRIBUTARY_TEST_POSTGRES_URL` names a server (`.ci/run` starts
/// one). A test here must hold for both; what only one store promises lives in its own suite.
@Suite("Store conformance: event log and connections")
struct EventLogConformanceTests {
    static func addConnection(_ store: ConformingStore, _ id: String = "c1", secrets: [String] = ["s"]) async throws {
        _ = try await store.addConnection(id: id, provider: "github", tenant: "acme", account: nil, app: nil, toleranceSeconds: nil, webhookSecrets: secrets, now: 0)
    }

    static func draft(_ id: String, connection: String = "c1", type: String = "issues", receivedAt: Int64 = 1) -> EventDraft {
        EventDraft(
            connection: connection, tenant: "acme", provider: "github", source: .webhook, eventId: id, type: type,
            record: RecordRef(recordType: "issue", recordId: "1", version: 5, deleted: false, fullState: true),
            occurredAt: nil, receivedAt: receivedAt, headers: [("X-Test", "1")], body: Array("{\"n\":\"\(id)\"}".utf8), url: nil
        )
    }

    @Test("concurrent appends share commits; every caller gets its own seq; duplicates return the first seq", arguments: StoreKind.available)
    func groupCommit(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await Self.addConnection(store)
            let n = 400
            let results = try await withThrowingTaskGroup(of: (String, AppendResult).self) { group in
                for i in 0..<n {
                    group.addTask { ("e\(i % 300)", try await store.append(Self.draft("e\(i % 300)"))) }
                }
                return try await group.reduce(into: [(String, AppendResult)]()) { $0.append($1) }
            }
            #expect(results.count == n)
            let fresh = results.filter { !$0.1.duplicate }
            #expect(fresh.count == 300, "one fresh insert per distinct id")
            #expect(Set(fresh.map(\.1.seq)).count == 300)
            for (id, result) in results where result.duplicate {
                #expect(fresh.first { $0.0 == id }?.1.seq == result.seq, "duplicate of \(id) must report the first seq")
            }
            let commits = store.intakeQueue.commits
            #expect(commits < n, "group commit shared no transaction: \(commits) commits for \(n) appends")
            print("group commit on \(kind): \(n) appends in \(commits) commits")
            #expect(try await store.events(EventFilter(limit: 1000)).count == 300)
        }
    }

    @Test("without grouping, each append is its own commit", arguments: StoreKind.available)
    func noGrouping(kind: StoreKind) async throws {
        var options = StoreOptions()
        options.groupCommit = false
        try await StoreUnderTest.with(kind, options: options) { subject in
            try await Self.addConnection(subject.store)
            for i in 0..<10 { _ = try await subject.store.append(Self.draft("x\(i)")) }
            #expect(subject.store.intakeQueue.commits == 10)
        }
    }

    @Test("two stores on one database (two nodes) racing the same ids store each id once", arguments: StoreKind.available)
    func dedupeAcrossNodes(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let first = subject.store
            let second = try await subject.open()
            try await Self.addConnection(first)
            let ids = (0..<120).map { "shared-\($0)" }
            let results = try await withThrowingTaskGroup(of: (String, AppendResult).self) { group in
                for id in ids {
                    for node in [first, second] {
                        group.addTask { (id, try await node.append(Self.draft(id))) }
                    }
                }
                return try await group.reduce(into: [(String, AppendResult)]()) { $0.append($1) }
            }
            for id in ids {
                let mine = results.filter { $0.0 == id }
                #expect(mine.count == 2)
                #expect(mine.filter { !$0.1.duplicate }.count == 1, "\(id): exactly one node stores it")
                #expect(Set(mine.map(\.1.seq)).count == 1, "\(id): both nodes answer the one row's seq")
            }
            let stored = try await second.events(EventFilter(limit: 1000))
            #expect(stored.count == ids.count)
            #expect(Set(stored.map(\.eventId)) == Set(ids))
        }
    }

    @Test("an unknown connection: the append stores nothing, and reads narrowed to it are refused", arguments: StoreKind.available)
    func unknownConnection(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await Self.addConnection(store)
            await #expect { _ = try await store.append(Self.draft("e1", connection: "nope")) } throws: { error in
                (error as? StoreError)?.code == .notFound
            }
            await #expect { _ = try await store.events(EventFilter(connection: "nope")) } throws: { error in
                (error as? StoreError)?.code == .notFound && "\(error)".contains("no connection nope")
            }
            #expect(try await store.events(EventFilter()).isEmpty)
            #expect(try await store.event(seq: 1) == nil)
        }
    }

    @Test("events read back in log order, exactly as appended, through every filter", arguments: StoreKind.available)
    func readsAndFilters(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await Self.addConnection(store, "c1")
            try await Self.addConnection(store, "c2")
            var special = Self.draft("odd", connection: "c2", type: "pull_request")
            special.record = nil
            special.status = .quarantined
            special.reason = "no record reference"
            special.headers = [("X-Hub-Signature-256", "sha256=00"), ("Content-Type", "application/json; charset=utf-8")]
            special.body = [0x00, 0xFF, 0x7B, 0x22, 0x0A]
            special.url = "/webhooks/github/c2"
            special.occurredAt = 1_700_000_000_123
            special.readFence = 42
            special.generation = 7
            var seqs: [Int64] = []
            for i in 0..<5 { seqs.append(try await store.append(Self.draft("e\(i)", receivedAt: Int64(10 + i))).seq) }
            let oddSeq = try await store.append(special).seq
            #expect(seqs == seqs.sorted() && Set(seqs).count == 5 && oddSeq > seqs.last!)

            let all = try await store.events(EventFilter(limit: 100))
            #expect(all.map(\.seq) == seqs + [oddSeq])
            let odd = try #require(try await store.event(seq: oddSeq))
            #expect(odd.connection == "c2" && odd.tenant == "acme" && odd.provider == "github" && odd.source == .webhook)
            #expect(odd.eventId == "odd" && odd.type == "pull_request" && odd.recordType == nil && odd.recordId == nil && odd.version == nil)
            #expect(odd.status == .quarantined && odd.reason == "no record reference")
            #expect(odd.headers == [["X-Hub-Signature-256", "sha256=00"], ["Content-Type", "application/json; charset=utf-8"]])
            #expect(odd.body == [0x00, 0xFF, 0x7B, 0x22, 0x0A], "bodies are bytes, not text")
            #expect(odd.url == "/webhooks/github/c2" && odd.occurredAt == 1_700_000_000_123 && odd.readFence == 42 && odd.generation == 7)
            let first = try #require(try await store.event(seq: seqs[0]))
            #expect(first.recordType == "issue" && first.recordId == "1" && first.version == 5 && first.fullState && !first.deleted)
            #expect(first.receivedAt == 10 && first.status == .pending)

            #expect(try await store.events(EventFilter(connection: "c2")).map(\.eventId) == ["odd"])
            #expect(try await store.events(EventFilter(status: .quarantined)).map(\.eventId) == ["odd"])
            #expect(try await store.events(EventFilter(status: .pending)).count == 5)
            #expect(try await store.events(EventFilter(type: "pull_request")).map(\.seq) == [oddSeq])
            #expect(try await store.events(EventFilter(limit: 2, afterSeq: seqs[1])).map(\.seq) == [seqs[2], seqs[3]])
            #expect(try await store.eventCounts(connection: nil) == [.pending: 5, .quarantined: 1])
            #expect(try await store.eventCounts(connection: "c1") == [.pending: 5])
        }
    }

    @Test("a signed body seen again under another id within its replay guard is a duplicate", arguments: StoreKind.available)
    func replayGuard(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await Self.addConnection(store)
            var original = Self.draft("first", receivedAt: 1_000)
            original.replayGuard = (key: "digest-1", horizon: 300)
            let stored = try await store.append(original)
            var replay = original
            replay.eventId = "second"
            replay.receivedAt = 1_200
            let again = try await store.append(replay)
            #expect(again == AppendResult(seq: stored.seq, duplicate: true))
            var late = original
            late.eventId = "third"
            late.receivedAt = 1_400
            #expect(try await store.append(late).duplicate == false, "past the horizon the same body is a new event")
            #expect(try await store.events(EventFilter()).map(\.eventId) == ["first", "third"])
        }
    }

    @Test("what was acknowledged is there after the store is opened again", arguments: StoreKind.available)
    func survivesReopen(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            try await Self.addConnection(subject.store, secrets: ["s3cr3t-value", "second"])
            var seqs: [Int64] = []
            for i in 0..<20 { seqs.append(try await subject.store.append(Self.draft("e\(i)")).seq) }
            let reopened = try await subject.open()
            #expect(try await reopened.events(EventFilter(limit: 100)).map(\.seq) == seqs)
            let connection = try #require(try await reopened.connection(id: "c1"))
            #expect(connection.webhookSecrets == ["s3cr3t-value", "second"], "sealed secrets open again with the same key")
            #expect(try await reopened.append(Self.draft("e3")) == AppendResult(seq: seqs[3], duplicate: true))
        }
    }

    @Test("connections: ids are unique, secrets rotate by value, the last secret stays, app membership is checked", arguments: StoreKind.available)
    func connections(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await Self.addConnection(store, "c1", secrets: ["old"])
            await #expect { try await Self.addConnection(store, "c1") } throws: { ($0 as? StoreError)?.code == .conflict }
            try await store.addWebhookSecret(connection: "c1", secret: "new", now: 1)
            await #expect { try await store.addWebhookSecret(connection: "c1", secret: "new", now: 1) } throws: { ($0 as? StoreError)?.code == .conflict }
            await #expect { try await store.addWebhookSecret(connection: "zz", secret: "x", now: 1) } throws: { ($0 as? StoreError)?.code == .notFound }
            try await store.retireWebhookSecret(connection: "c1", secret: "old", now: 2)
            await #expect { try await store.retireWebhookSecret(connection: "c1", secret: "unknown", now: 3) } throws: { ($0 as? StoreError)?.code == .notFound }
            await #expect { try await store.retireWebhookSecret(connection: "c1", secret: "new", now: 3) } throws: { ($0 as? StoreError)?.code == .conflict }
            let c1 = try #require(try await store.connection(id: "c1"))
            #expect(c1.webhookSecrets == ["new"] && c1.retiredSecretCount == 1 && c1.secretFingerprints.count == 1)
            #expect(c1.provider == "github" && c1.tenant == "acme" && c1.account == nil && c1.app == nil)

            _ = try await store.addConnection(id: "a-conn", provider: "stripe", tenant: "beta", account: "acct_1", app: nil, toleranceSeconds: 300, webhookSecrets: [], now: 5)
            await #expect {
                _ = try await store.addConnection(id: "x", provider: "github", tenant: "t", account: "1", app: "no-such-app", toleranceSeconds: nil, webhookSecrets: [], now: 5)
            } throws: { ($0 as? StoreError)?.code == .notFound }
            #expect(try await store.connections().map(\.id) == ["a-conn", "c1"])
            let stripe = try #require(try await store.connection(id: "a-conn"))
            #expect(stripe.toleranceSeconds == 300 && stripe.account == "acct_1" && stripe.webhookSecrets.isEmpty && stripe.createdAt == 5)
            #expect(try await store.connection(id: "missing") == nil)
        }
    }
}
