import Foundation
import Logging
import Testing
import TributaryCore
import TributaryProviders
import TributaryReconcile
import TributaryScheduling
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting
import TributaryUpstream

/// The reconcile decision as a pure function (issue 4's table of cases).
@Suite("Reconcile decision")
struct ReconcileDecisionTests {
    static let held = MirrorVersion(version: 10, deleted: false, contentHash: "a")

    static func event(_ version: Int64?, deleted: Bool = false, full: Bool = true, hash: String? = "b") -> Observation {
        Observation(version: version, deleted: deleted, fullState: full, contentHash: hash)
    }

    static func fetched(_ version: Int64?, deleted: Bool = false, hash: String? = "f") -> Observation {
        Observation(version: version, deleted: deleted, fullState: true, contentHash: hash, authoritative: true)
    }

    @Test("newer applies, older is superseded")
    func newerAndOlder() {
        #expect(ReconcileDecision.decide(current: Self.held, observation: Self.event(11)) == .apply)
        #expect(ReconcileDecision.decide(current: Self.held, observation: Self.event(9)) == .supersede)
    }

    @Test("equal version: same content is unchanged, different content asks the provider")
    func equalVersions() {
        #expect(ReconcileDecision.decide(current: Self.held, observation: Self.event(10, hash: "a")) == .unchanged)
        #expect(ReconcileDecision.decide(current: Self.held, observation: Self.event(10, hash: "z")) == .fetch(.conflictingContent))
        #expect(ReconcileDecision.decide(current: Self.held, observation: Self.fetched(10, hash: "z")) == .apply, "a fetch is the truth")
    }

    @Test("no version, or a thin payload, asks the provider")
    func undecidable() {
        #expect(ReconcileDecision.decide(current: Self.held, observation: Self.event(nil)) == .fetch(.noVersion))
        #expect(ReconcileDecision.decide(current: Self.held, observation: Self.event(11, full: false)) == .fetch(.thinPayload))
        #expect(ReconcileDecision.decide(current: nil, observation: Self.event(3, full: false)) == .fetch(.thinPayload))
        #expect(ReconcileDecision.decide(current: nil, observation: Self.event(3)) == .apply)
    }

    @Test("a tombstone is undone only by a newer version")
    func tombstones() {
        let tombstone = MirrorVersion(version: 12, deleted: true, contentHash: nil)
        #expect(ReconcileDecision.decide(current: Self.held, observation: Self.event(12, deleted: true)) == .tombstone)
        #expect(ReconcileDecision.decide(current: tombstone, observation: Self.event(11)) == .supersede, "tombstone then older update")
        #expect(ReconcileDecision.decide(current: tombstone, observation: Self.event(13)) == .apply, "tombstone then newer update")
        #expect(ReconcileDecision.decide(current: tombstone, observation: Self.event(12, deleted: true)) == .unchanged)
    }

    @Test("a lower version is believed only when two authoritative fetches agree; then the field is no longer trusted")
    func regression() {
        let first = ReconcileDecision.decide(current: Self.held, observation: Self.fetched(7))
        #expect(first == .fetch(.confirmRegression(7)))
        var pending = Self.held
        pending.pendingRegression = 7
        #expect(ReconcileDecision.decide(current: pending, observation: Self.fetched(7)) == .acceptRegression)
        #expect(ReconcileDecision.decide(current: pending, observation: Self.fetched(6)) == .fetch(.confirmRegression(6)), "disagreeing fetches start over")
        #expect(ReconcileDecision.decide(current: pending, observation: Self.event(7)) == .supersede, "an event never lowers a version")
        let untrusted = MirrorVersion(version: 7, deleted: false, contentHash: "f", versionTrusted: false)
        #expect(ReconcileDecision.decide(current: untrusted, observation: Self.event(8)) == .fetch(.untrustedVersion))
        #expect(ReconcileDecision.decide(current: untrusted, observation: Self.fetched(5)) == .apply)
    }

    @Test("without versions, a page read before the mirror's state was read is skipped and verified; a later read applies")
    func readFences() {
        // The mirror holds what a read issued at t=100 saw.
        let held = MirrorVersion(version: nil, deleted: false, contentHash: "a", readFence: 100)
        func page(_ fence: Int64, deleted: Bool = false) -> Observation {
            Observation(version: nil, deleted: deleted, fullState: true, contentHash: "p", readFence: fence)
        }
        func fetch(_ fence: Int64, deleted: Bool = false) -> Observation {
            Observation(version: nil, deleted: deleted, fullState: true, contentHash: "f", authoritative: true, readFence: fence)
        }
        #expect(ReconcileDecision.decide(current: held, observation: page(90)) == .fetch(.fenced), "a page in flight while a fresher read landed")
        #expect(ReconcileDecision.decide(current: held, observation: page(110)) == .apply)
        #expect(ReconcileDecision.decide(current: held, observation: page(110, deleted: true)) == .tombstone)
        #expect(ReconcileDecision.decide(current: nil, observation: page(5)) == .apply, "nothing held: nothing to protect")
        #expect(ReconcileDecision.decide(current: held, observation: fetch(90)) == .fetch(.fenced), "a fetch sent before the held state arrived is read again")
        #expect(ReconcileDecision.decide(current: held, observation: fetch(100, deleted: true)) == .tombstone)
        // A delivery is not a read: without a version it always asks the provider.
        #expect(ReconcileDecision.decide(current: held, observation: Self.event(nil)) == .fetch(.noVersion))
        // A versionless page cannot be ordered against a trusted version: it asks the provider.
        #expect(ReconcileDecision.decide(current: Self.held, observation: page(500)) == .fetch(.noVersion))
        // Once a record's version is untrusted, pages fall back to their fences.
        let untrusted = MirrorVersion(version: 7, deleted: false, contentHash: "f", versionTrusted: false, readFence: 100)
        #expect(ReconcileDecision.decide(current: untrusted, observation: Observation(version: 9, deleted: false, fullState: true, contentHash: "p", readFence: 90)) == .fetch(.fenced))
        #expect(ReconcileDecision.decide(current: untrusted, observation: Observation(version: 9, deleted: false, fullState: true, contentHash: "p", readFence: 120)) == .apply)
    }
}

/// Read fences through the store: a delivery moves the fence, and a read sent before it is read again.
@Suite("Read fences")
struct ReadFenceTests {
    @Test("a 404 sent before a delivery arrived is read again, not applied; one sent after it tombstones")
    func goneBeforeADelivery() async throws {
        let directory = try TestPaths.temporaryDirectory("fence")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.appendingPathComponent("f.db").path, masterKey: TestSecrets.masterKey, logger: Logger(label: "t"))
        _ = try await store.addConnection(id: "sim1", provider: "simulator", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
        func append(_ id: String, source: EventSource, version: Int64?, deleted: Bool, receivedAt: Int64, readFence: Int64? = nil) async throws -> Int64 {
            try await store.append(EventDraft(
                connection: "sim1", tenant: "acme", provider: "simulator", source: source, eventId: id, type: "customer.x",
                record: RecordRef(recordType: "customer", recordId: "cus_1", version: version, deleted: deleted, fullState: true),
                occurredAt: nil, receivedAt: receivedAt, headers: [], body: Array(#"{"id":"cus_1"}"#.utf8), url: nil, readFence: readFence
            )).seq
        }
        let apply = { (now: Int64) in try await store.applyPendingEvents(now: now) { _, _, body in body } }
        _ = try await append("w1", source: .webhook, version: 3, deleted: false, receivedAt: 2000)
        _ = try await apply(2000)
        // A fetch sent at t=1000 answered 404, logged after the delivery of t=2000 was applied.
        let stale = try await append("f1", source: .fetch, version: nil, deleted: true, receivedAt: 2500, readFence: 1000)
        let report = try await apply(2500)
        #expect(report.needFetch == 1 && report.applied == 0)
        #expect(try await store.event(seq: stale)?.reason == "needs fetch: fenced")
        #expect(try await store.record(connection: "sim1", type: "customer", id: "cus_1")?.deleted == false)
        #expect(try await store.pendingFetches().first?.background == true, "a verification waits behind deliveries' follow-ups")
        // The read again, sent after the delivery: the record is gone.
        _ = try await store.resolveByFetch(EventDraft(
            connection: "sim1", tenant: "acme", provider: "simulator", source: .fetch, eventId: "f2", type: "customer.fetched",
            record: RecordRef(recordType: "customer", recordId: "cus_1", version: nil, deleted: true, fullState: true),
            occurredAt: nil, receivedAt: 3100, headers: [], body: [], url: nil, readFence: 3000
        ), resolving: [stale])
        _ = try await apply(3100)
        let record = try await store.record(connection: "sim1", type: "customer", id: "cus_1")
        #expect(record?.deleted == true && record?.version == 3, "a 404 tombstones and keeps the last known version")
    }
}

/// Events the reconciler cannot settle are retried, then dead-lettered, listed, and replayable.
@Suite("Dead letters")
struct DeadLetterTests {
    @Test("a fetch that can never succeed ends dead with a reason after its attempts; replay puts it back")
    func deadLetterAndReplay() async throws {
        let directory = try TestPaths.temporaryDirectory("dead")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.appendingPathComponent("d.db").path, masterKey: TestSecrets.masterKey, logger: Logger(label: "t"))
        let catalog = try ManifestCatalog.load(directory: TestPaths.providers)
        _ = try await store.addConnection(id: "gh1", provider: "github", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: ["s"], now: 0)
        // An issues event without a version: it needs a fetch, and github's manifest has no api.fetch.
        let appended = try await store.append(EventDraft(
            connection: "gh1", tenant: "acme", provider: "github", source: .webhook, eventId: "d1", type: "issues",
            record: RecordRef(recordType: "issue", recordId: "1", version: nil, deleted: false, fullState: true),
            occurredAt: nil, receivedAt: 0, headers: [], body: Array("{}".utf8), url: nil
        ))
        var reconciler = Reconciler(store: store, catalog: catalog, clients: UpstreamClients(transport: FixtureTransport(), clock: EngineClock.system.reading { 0 }), now: { 0 })
        reconciler.maxAttempts = 3
        for _ in 0..<3 { _ = try await reconciler.runOnce(logger: Logger(label: "t")) }
        let dead = try #require(try await store.event(seq: appended.seq))
        #expect(dead.status == .dead)
        #expect(dead.reason?.contains("no api.fetch") == true, "\(dead.reason ?? "")")
        #expect(try await store.events(EventFilter(status: .dead)).map(\.seq) == [appended.seq])

        #expect(try await store.replayEvents([appended.seq]) == 1)
        #expect(try await store.event(seq: appended.seq)?.status == .pending)
        await #expect(throws: StoreError.self) { _ = try await store.replayEvents([999]) }
    }
}
