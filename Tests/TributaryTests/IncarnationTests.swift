import Foundation
import Logging
import Testing
import TributaryCore
import TributaryStore
import TributaryTesting

/// Ids reused after a deletion (some databases hand the highest id out again): the incarnation (a
/// creation time) tells the new record from the deleted one, whatever their versions.
@Suite("Incarnations")
struct IncarnationTests {
    static let held = MirrorVersion(version: 9, deleted: false, contentHash: "a", incarnation: 100)

    static func seen(_ version: Int64?, incarnation: Int64?, deleted: Bool = false, full: Bool = true) -> Observation {
        Observation(version: version, deleted: deleted, fullState: full, contentHash: "b", incarnation: incarnation)
    }

    @Test("a later incarnation is a new record whatever its version; an earlier one is about the deleted record", arguments: [
        // (version, incarnation, deleted, full, expected)
        (1 as Int64?, 200 as Int64?, false, true, ReconcileDecision.apply),
        (50, 200, false, true, .apply),
        (1, 200, true, true, .tombstone),
        (1, 200, false, false, .fetch(.thinPayload)),
        (50, 50, false, true, .supersede),
        (10, 100, false, true, .apply),
        (8, 100, false, true, .supersede),
        (8, nil, false, true, .supersede),
        (10, nil, false, true, .apply),
    ])
    func decisions(version: Int64?, incarnation: Int64?, deleted: Bool, full: Bool, expected: ReconcileDecision) {
        #expect(ReconcileDecision.decide(current: Self.held, observation: Self.seen(version, incarnation: incarnation, deleted: deleted, full: full)) == expected)
    }

    @Test("through the store: the reused id's new record replaces the old one at its own version 1, and a late page of the old one is superseded")
    func reusedIdInTheMirror() async throws {
        let directory = try TestPaths.temporaryDirectory("incarnation")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.appendingPathComponent("i.db").path, masterKey: TestSecrets.masterKey, logger: Logger(label: "t"))
        _ = try await store.addConnection(id: "rm", provider: "redmine", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
        func draft(_ id: String, version: Int64, incarnation: Int64, body: String) -> EventDraft {
            EventDraft(
                connection: "rm", tenant: "acme", provider: "redmine", source: .poll, eventId: id, type: "issue.observed",
                record: RecordRef(recordType: "issue", recordId: "42", version: version, deleted: false, fullState: true, incarnation: incarnation),
                occurredAt: nil, receivedAt: 1000, headers: [], body: Array(body.utf8), url: nil
            )
        }
        let apply = { try await store.applyPendingEvents(now: 2000) { _, _, body in body } }
        _ = try await store.append(draft("old-v7", version: 7, incarnation: 100, body: #"{"subject":"old"}"#))
        #expect(try await apply().applied == 1)
        // The provider deleted issue 42 and created another one that got id 42 again, at version 1.
        _ = try await store.append(draft("new-v1", version: 1, incarnation: 200, body: #"{"subject":"new"}"#))
        #expect(try await apply().applied == 1)
        var record = try #require(try await store.record(connection: "rm", type: "issue", id: "42"))
        #expect(record.version == 1 && String(decoding: record.data ?? [], as: UTF8.self) == #"{"subject":"new"}"#)
        #expect(record.incarnation == 200)
        // The replaced record's deletion is in the log: a tombstone of incarnation 100, applied by the write.
        let tombstone = try #require(try await store.events(EventFilter(connection: "rm")).first { $0.eventId == "poll:issue:42:i100.gone" })
        #expect(tombstone.type == "issue.deleted" && tombstone.deleted && tombstone.status == .applied && tombstone.version == 7)
        // A late read of the deleted record (a higher version of the earlier incarnation) does not come back.
        let late = try await store.append(draft("old-v8", version: 8, incarnation: 100, body: #"{"subject":"old, edited"}"#)).seq
        let report = try await apply()
        #expect(report.superseded == 1 && report.applied == 0)
        #expect(try await store.event(seq: late)?.status == .superseded)
        record = try #require(try await store.record(connection: "rm", type: "issue", id: "42"))
        #expect(String(decoding: record.data ?? [], as: UTF8.self) == #"{"subject":"new"}"#)
        // The new record's own later version applies as usual.
        _ = try await store.append(draft("new-v2", version: 2, incarnation: 200, body: #"{"subject":"new, edited"}"#))
        #expect(try await apply().applied == 1)
        #expect(try await store.record(connection: "rm", type: "issue", id: "42")?.version == 2)
    }
}
