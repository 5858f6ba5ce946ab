import Foundation
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryStore

/// Poll cursors, against every store this run can start (see ``EventLogConformanceTests``).
@Suite("Store conformance: poll cursors")
struct PollCursorConformanceTests {
    static let lease = "poll:c1:issues"

    static func draft(_ id: String, connection: String = "c1") -> EventDraft {
        EventDraft(
            connection: connection, tenant: "acme", provider: "github", source: .poll, eventId: id, type: "issue",
            record: RecordRef(recordType: "issue", recordId: id, version: 1, deleted: false, fullState: true),
            occurredAt: nil, receivedAt: 1, headers: [], body: Array("{}".utf8), url: nil
        )
    }

    @Test("a page and its cursor commit together, fenced by the lease: a run that was taken over writes nothing", arguments: StoreKind.available)
    func fencedPages(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            _ = try await store.addConnection(id: "c1", provider: "github", tenant: "acme", account: nil, app: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
            let never = try await store.pollState(connection: "c1", resource: "issues")
            #expect(never.cursor == PollCursor() && never.pages == 0 && never.observations == 0 && never.lastRunStartedAt == nil)

            #expect(try await store.acquireLease(Self.lease, holder: "a", ttl: .seconds(30), now: 1))
            let first = PollCursor(watermark: 100, afterId: "i2")
            let results = try await store.commitPage([Self.draft("i1"), Self.draft("i2")], connection: "c1", resource: "issues", cursor: first, lease: Self.lease, holder: "a", now: 2, pages: 1)
            #expect(results.map(\.duplicate) == [false, false])
            var state = try await store.pollState(connection: "c1", resource: "issues")
            #expect(state.cursor == first && state.pages == 1 && state.observations == 2)

            // a stalls; b finds it dead and takes over. a's late page must not land.
            #expect(try await store.takeOverLease(Self.lease, from: "a", holder: "b", ttl: .seconds(30), now: 3))
            await #expect {
                _ = try await store.commitPage([Self.draft("late")], connection: "c1", resource: "issues", cursor: PollCursor(watermark: 999), lease: Self.lease, holder: "a", now: 4, pages: 1)
            } throws: { ($0 as? StoreError)?.code == .leaseLost }
            #expect(try await store.events(EventFilter()).map(\.eventId) == ["i1", "i2"])
            #expect(try await store.pollState(connection: "c1", resource: "issues").cursor == first)

            let second = PollCursor(watermark: 200, afterId: "i3", run: PollCursor.Run(startedAt: 5, horizon: 6, since: nil))
            let again = try await store.commitPage([Self.draft("i2"), Self.draft("i3")], connection: "c1", resource: "issues", cursor: second, lease: Self.lease, holder: "b", now: 5, pages: 2)
            #expect(again.map(\.duplicate) == [true, false])
            state = try await store.pollState(connection: "c1", resource: "issues")
            #expect(state.cursor == second && state.pages == 3 && state.observations == 4)

            // One transaction: a draft the log refuses takes the page and the cursor with it.
            await #expect {
                _ = try await store.commitPage([Self.draft("i4"), Self.draft("x", connection: "gone")], connection: "c1", resource: "issues", cursor: PollCursor(watermark: 300), lease: Self.lease, holder: "b", now: 6, pages: 1)
            } throws: { ($0 as? StoreError)?.code == .notFound }
            #expect(try await store.events(EventFilter()).map(\.eventId) == ["i1", "i2", "i3"])
            #expect(try await store.pollState(connection: "c1", resource: "issues").cursor == second)

            // Released: nobody holds it, so no page commits under it.
            try await store.releaseLease(Self.lease, holder: "b")
            await #expect {
                _ = try await store.commitPage([], connection: "c1", resource: "issues", cursor: PollCursor(watermark: 400), lease: Self.lease, holder: "b", now: 7, pages: 1)
            } throws: { ($0 as? StoreError)?.code == .leaseLost }
        }
    }

    @Test("a run's record keeps what it is not given: the cursor, the last anomaly, the stalled count, when it last changed", arguments: StoreKind.available)
    func runRecords(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            for id in ["c2", "c1"] {
                _ = try await store.addConnection(id: id, provider: "github", tenant: "acme", account: nil, app: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
            }
            let cursor = PollCursor(syncToken: "tok-1")
            try await store.recordPollRun(connection: "c1", resource: "pulls", startedAt: 10, finishedAt: 20, nextRunAt: 80, error: "HTTP 502 from api.github.com", anomaly: "cursor went backwards", cursor: cursor, changed: true, stalledRuns: 2)
            var state = try await store.pollState(connection: "c1", resource: "pulls")
            #expect(state.cursor == cursor && state.lastRunStartedAt == 10 && state.lastRunFinishedAt == 20 && state.nextRunAt == 80)
            #expect(state.lastError == "HTTP 502 from api.github.com" && state.lastAnomaly == "cursor went backwards")
            #expect(state.lastChangeAt == 20 && state.stalledRuns == 2)

            try await store.recordPollRun(connection: "c1", resource: "pulls", startedAt: 100, finishedAt: 110, nextRunAt: 170, error: nil, anomaly: nil, cursor: nil, changed: false, stalledRuns: nil)
            state = try await store.pollState(connection: "c1", resource: "pulls")
            #expect(state.cursor == cursor, "no cursor given: the cursor stays")
            #expect(state.lastError == nil && state.lastAnomaly == "cursor went backwards" && state.lastChangeAt == 20 && state.stalledRuns == 2)
            #expect(state.lastRunStartedAt == 100 && state.lastRunFinishedAt == 110 && state.nextRunAt == 170)

            try await store.recordPollRun(connection: "c1", resource: "pulls", startedAt: 200, finishedAt: 210, nextRunAt: 270, error: nil, anomaly: nil, cursor: PollCursor(), changed: true, stalledRuns: 0)
            state = try await store.pollState(connection: "c1", resource: "pulls")
            #expect(state.cursor == PollCursor() && state.lastChangeAt == 210 && state.stalledRuns == 0)

            try await store.recordPollRun(connection: "c2", resource: "issues", startedAt: 1, finishedAt: 2, nextRunAt: 3, error: nil, anomaly: nil, cursor: nil, changed: false, stalledRuns: nil)
            try await store.recordPollRun(connection: "c1", resource: "issues", startedAt: 1, finishedAt: 2, nextRunAt: 3, error: nil, anomaly: nil, cursor: nil, changed: false, stalledRuns: nil)
            let all = try await store.pollStates(connection: nil)
            #expect(all.map { "\($0.connection)/\($0.resource)" } == ["c1/issues", "c1/pulls", "c2/issues"])
            #expect(all[0].cursor == PollCursor() && all[0].lastChangeAt == nil && all[0].stalledRuns == 0)
            #expect(try await store.pollStates(connection: "c2").map(\.resource) == ["issues"])
        }
    }
}
