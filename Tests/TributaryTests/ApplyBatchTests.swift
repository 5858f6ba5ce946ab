import Foundation
import GRDB
import Logging
import Testing
import TributaryCore
import TributaryStore
import TributaryTesting

/// One apply batch through the store: every outcome settled in the same transaction, the applied
/// events marked by range, and nothing outside the batch touched.
@Suite("Apply batch")
struct ApplyBatchTests {
    static func draft(_ id: String, connection: String = "sim1", record: String?, version: Int64?, full: Bool = true, body: String = #"{"v":1}"#) -> EventDraft {
        EventDraft(
            connection: connection, tenant: "acme", provider: "simulator", source: .poll, eventId: id, type: "customer.observed",
            record: record.map { RecordRef(recordType: "customer", recordId: $0, version: version, deleted: false, fullState: full) },
            occurredAt: nil, receivedAt: 1000, headers: [], body: Array(body.utf8), url: nil
        )
    }

    @Test("a batch of every outcome, filtered to one connection, settles each event once and leaves the other connection's pending")
    func everyOutcome() async throws {
        let directory = try TestPaths.temporaryDirectory("apply-batch")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("a.db").path
        let store = try Store(path: path, masterKey: TestSecrets.masterKey, logger: Logger(label: "t"))
        for id in ["sim1", "sim2"] {
            _ = try await store.addConnection(id: id, provider: "simulator", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
        }
        let apply = { (connection: String?) in try await store.applyPendingEvents(connection: connection, now: 2000) { _, _, body in body } }
        let seed = try await store.append(Self.draft("seed", record: "cus_1", version: 5)).seq
        #expect(try await apply(nil).applied == 1)

        // In log order, interleaved with another connection's event inside the batch's range.
        let older = try await store.append(Self.draft("older", record: "cus_1", version: 3)).seq
        let otherConnection = try await store.append(Self.draft("other", connection: "sim2", record: "cus_9", version: 1)).seq
        let unchanged = try await store.append(Self.draft("same", record: "cus_1", version: 5)).seq
        let noRecord = try await store.append(Self.draft("none", record: nil, version: nil)).seq
        let first = try await store.append(Self.draft("new1", record: "cus_2", version: 1)).seq
        let thin = try await store.append(Self.draft("thin", record: "cus_3", version: 1, full: false)).seq
        let second = try await store.append(Self.draft("new2", record: "cus_2", version: 2, body: #"{"v":2}"#)).seq

        let report = try await apply("sim1")
        #expect(report.applied == 3, "the two versions of cus_2 and the event about no record")
        #expect(report.superseded == 1 && report.unchanged == 1 && report.needFetch == 1)

        func expectEvent(_ seq: Int64, _ status: EventStatus, _ reason: String?, applications: Int, _ comment: Comment) async throws {
            let event = try #require(try await store.event(seq: seq))
            #expect(event.status == status, comment)
            #expect(event.reason == reason, comment)
            #expect(try await store.applications(seqs: [seq])[seq] == applications, comment)
        }
        try await expectEvent(older, .superseded, "older than the mirror's version", applications: 0, "an older version")
        try await expectEvent(otherConnection, .pending, nil, applications: 0, "another connection's event inside the range")
        try await expectEvent(unchanged, .applied, "same version and content as the mirror", applications: 0, "a duplicate")
        try await expectEvent(noRecord, .applied, "no mirror record", applications: 0, "an event about no record")
        try await expectEvent(first, .applied, nil, applications: 1, "a new record")
        try await expectEvent(thin, .pending, "needs fetch: thinPayload", applications: 0, "a thin event")
        try await expectEvent(second, .applied, nil, applications: 1, "a later version of a record written earlier in the batch")
        #expect(try await store.record(connection: "sim1", type: "customer", id: "cus_2")?.version == 2)

        // The other connection's event is applied by the next unfiltered pass; the thin one still waits.
        #expect(try await apply(nil).applied == 1)
        try await expectEvent(otherConnection, .applied, nil, applications: 1, "applied by the unfiltered pass")
        try await expectEvent(thin, .pending, "needs fetch: thinPayload", applications: 0, "still waiting on its fetch")
        try await expectEvent(seed, .applied, nil, applications: 1, "untouched by later batches")

        // Counts by status (applied is derived from the total) agree with a plain count of the log.
        let queue = try DatabaseQueue(path: path)
        let direct = try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT connection, status, COUNT(*) AS n FROM events GROUP BY connection, status").map {
                [$0["connection"] as String, $0["status"] as String, String($0["n"] as Int)]
            }
        }
        for connection in ["sim1", "sim2"] {
            let counts = try await store.eventCounts(connection: connection)
            let expected = Dictionary(uniqueKeysWithValues: direct.filter { $0[0] == connection }.map { (EventStatus(rawValue: $0[1])!, Int($0[2])!) })
            #expect(counts == expected, "counts for \(connection)")
        }
        #expect(try await store.eventCounts() == [.applied: 6, .superseded: 1, .pending: 1])
        #expect(try await store.events(EventFilter(status: .pending)).map(\.seq) == [thin])
        #expect(try await store.events(EventFilter(status: .superseded)).map(\.seq) == [older])
        #expect(try await store.events(EventFilter(status: .applied)).map(\.seq) == [seed, otherConnection, unchanged, noRecord, first, second])
    }
}
