import Foundation
import Logging
import Synchronization
import Testing
import TributaryCore
import TributaryPolling
import TributaryProviders
import TributaryReconcile
import TributaryScheduling
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting
import TributaryUpstream

/// Each real provider's `api:`/`poll:` manifest, run by the real poller against fixture pages shaped
/// after that provider's documentation (`Sources/TributaryTesting/Fixtures/api/README.md`).
///
/// Every test pages one resource to the end, checks what the poller asked for and what it stored,
/// checks the saved cursor, then runs again and checks the follow-up request the docs prescribe.

// Real API manifests, continued: fetching one record, Microsoft Graph, and what the real APIs exposed.
extension RealAPIManifestTests {
    // MARK: Fetch one record (api.fetch)

    /// A thin webhook event, as intake would store it: the reconciler must read the record.
    static func thinEvent(_ h: Harness, id: String, type: String, recordType: String, recordId: String, version: Int64? = nil, deleted: Bool = false) async throws {
        _ = try await h.store.append(EventDraft(
            connection: h.connection.id, tenant: "acme", provider: h.connection.provider, source: .webhook, eventId: id, type: type,
            record: RecordRef(recordType: recordType, recordId: recordId, version: version, deleted: deleted, fullState: false),
            occurredAt: nil, receivedAt: h.clock.now(), headers: [], body: Array("{}".utf8), url: nil
        ))
    }

    static func reconcile(_ h: Harness) async throws -> ReconcileReport {
        var reconciler = Reconciler(store: h.store, catalog: h.runner.catalog, clients: h.runner.clients, now: { h.clock.now() })
        reconciler.fetchConcurrency = 1  // the script answers in order
        let report = try await reconciler.runOnce(logger: h.logger)
        #expect(h.transport.mismatches.isEmpty, "\(h.transport.mismatches)")
        #expect(h.transport.unanswered == 0)
        return report
    }

    @Test("HubSpot: thin webhook events are answered by reading the object (companies by their own path); 404 is a tombstone")
    func hubspotFetch() async throws {
        let token = "pat-na1-11111111-2222-3333-4444-555555555555"
        let auth: [(name: String, value: String)] = [("Authorization", "Bearer \(token)")]
        try await Self.withHarness(provider: "hubspot", account: "62515", token: token) { h in
            try await Self.thinEvent(h, id: "hs-1", type: "contact.propertyChange", recordType: "contact", recordId: "512")
            try await Self.thinEvent(h, id: "hs-2", type: "company.creation", recordType: "company", recordId: "1001")
            try await Self.thinEvent(h, id: "hs-3", type: "contact.deletion", recordType: "contact", recordId: "513", deleted: true)
            h.transport.expect(.init("https://api.hubapi.com/crm/v3/objects/contacts/512", headers: auth), respond: try Self.response("hubspot/contact-read"))
            h.transport.expect(.init("https://api.hubapi.com/crm/v3/objects/companies/1001", headers: auth), respond: try Self.response("hubspot/company-read"))
            h.transport.expect(.init("https://api.hubapi.com/crm/v3/objects/contacts/513", headers: auth), respond: try Self.response("hubspot/contact-not-found"))
            let report = try await Self.reconcile(h)
            #expect(report.fetches == 3 && report.fetchFailures == 0 && report.needFetch == 0)
            let contact = try #require(try await h.store.record(connection: h.connection.id, type: "contact", id: "512"))
            #expect(contact.version == Self.t("2024-11-20T11:58:12.345Z") && !contact.deleted)
            #expect(contact.json.jsonText.contains(#""email":"bcooper@example.com""#))
            #expect(try await h.store.record(connection: h.connection.id, type: "company", id: "1001")?.version == Self.t("2024-11-20T10:00:00Z"))
            #expect(try await h.store.record(connection: h.connection.id, type: "contact", id: "513")?.deleted == true)
            #expect(try await h.store.events(EventFilter(status: .pending)).isEmpty)
        }
    }

    @Test("Zendesk: a webhook's ticket summary is answered by Show Ticket; a permanently deleted ticket's 404 is a tombstone")
    func zendeskFetch() async throws {
        try await Self.withHarness(provider: "zendesk", account: "acme", token: "agent@example.com/token:6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv") { h in
            try await Self.thinEvent(h, id: "zd-1", type: "zen:event-type:ticket.status_changed", recordType: "ticket", recordId: "35436",
                                     version: Self.t("2024-11-20T12:04:31Z"))
            try await Self.thinEvent(h, id: "zd-2", type: "zen:event-type:ticket.permanently_deleted", recordType: "ticket", recordId: "35437", deleted: true)
            h.transport.expect(.init("https://acme.zendesk.com/api/v2/tickets/35436"), respond: try Self.response("zendesk/ticket-show"))
            h.transport.expect(.init("https://acme.zendesk.com/api/v2/tickets/35437"), respond: try Self.response("zendesk/ticket-not-found"))
            let report = try await Self.reconcile(h)
            #expect(report.fetches == 2 && report.fetchFailures == 0)
            let ticket = try #require(try await h.store.record(connection: h.connection.id, type: "ticket", id: "35436"))
            #expect(ticket.version == Self.t("2024-11-20T12:10:00Z"), "the fetched state is newer than the webhook's summary")
            #expect(ticket.json.jsonText.contains(#""subject":"Help, my printer is on fire!""#))
            #expect(try await h.store.record(connection: h.connection.id, type: "ticket", id: "35437")?.deleted == true)
        }
    }

    // MARK: Microsoft Graph

    static let graphDelta = "https://graph.microsoft.com/v1.0/users/delta?$select=displayName,givenName,surname,mail,userPrincipalName"
    static let graphNext = "https://graph.microsoft.com/v1.0/users/delta?$skiptoken=Tb1QzVx7Kd3mPp9aF0rWq2LsY6nHc8JuE4tGo5iB1vXyZ2aQ9wRt3Ue7IoP0lKj6HgF5dSa4"
    static let graphDelta1 = "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=Mx9Rb2Tq7LwZ4cVn1Ks8Pj3Hd6Fg0Ya5Xe2Uo9Ii4Bt7Nr1Cm3Qs6Wv8Ez0Ay5Dl2Gh7Jk4Lp1Mn"
    static let graphToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.synthetic.signature"

    /// The first round of a Graph users delta: two pages, the deltaLink saved.
    static func graphFirstRound(_ h: Harness) async throws {
        let auth: [(name: String, value: String)] = [("Authorization", "Bearer \(graphToken)")]
        h.transport.expect(.init(graphDelta, headers: auth), respond: try response("microsoft-graph/users-delta-1"))
        h.transport.expect(.init(graphNext, headers: auth), respond: try response("microsoft-graph/users-delta-2"))
        let first = try await h.run()
        #expect(first.pages == 2 && first.newEvents == 6)
        let events = try await h.events()
        #expect(events.map(\.recordId) == [
            "3f1d9c2a-6b7e-4a15-9d3c-0e8f2b4a6c11", "8a4e2f6b-1c3d-4e5f-a6b7-c8d9e0f1a222", "c2b7e9d1-4f6a-48b3-9e0d-1a2b3c4d5e33",
            "6ea91a8d-e32e-41a1-b7bd-d2d185eed066", "5e6f7a8b-9c0d-41e2-b3f4-a5b6c7d8e944", "d9e8f7a6-b5c4-4d3e-a2f1-0e9d8c7b6a55",
        ])
        #expect(events.map(\.deleted) == [false, false, true, false, false, false], "@removed reason deleted")
        #expect(events.allSatisfy { $0.recordType == "user" && $0.version == nil && $0.eventId.hasPrefix("poll:user:\($0.recordId ?? ""):h") })
        #expect(try await h.cursor("users") == PollCursor(syncToken: graphDelta1))
        #expect(await h.budget.tokens == 1748)
    }

    @Test("Microsoft Graph users delta: nextLink pages, deltaLink saved and followed, @removed tombstones")
    func graph() async throws {
        try await Self.withHarness(provider: "microsoft-graph", account: nil, token: Self.graphToken) { h in
            try await Self.graphFirstRound(h)
            h.clock.advance(by: .seconds(300))
            h.transport.expect(.init(Self.graphDelta1, headers: [("Authorization", "Bearer \(Self.graphToken)")]), respond: try Self.response("microsoft-graph/users-delta-changes"))
            let second = try await h.run()
            #expect(second.pages == 1 && second.newEvents == 2)
            let changes = Array(try await h.events().suffix(2))
            #expect(changes.map(\.recordId) == ["3f1d9c2a-6b7e-4a15-9d3c-0e8f2b4a6c11", "8a4e2f6b-1c3d-4e5f-a6b7-c8d9e0f1a222"])
            #expect(changes.map(\.deleted) == [false, true], "@removed reason changed: deleted, restorable")
            #expect(String(decoding: changes[0].body, as: UTF8.self).contains("Vance-Whitfield"))
            #expect(try await h.cursor("users") == PollCursor(
                syncToken: "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=Qp4Wn7Ez2Rx5Tc8Yv1Ub3In6Om9Ah2Sj5Dk8Fl1Gz4Hx7Jc0Kv3Lb6Nm9Pq2Rs5Tw8Uy1Ve4Xa7"
            ))
        }
    }

    @Test("Microsoft Graph: 410 on the deltaLink forgets it, and the next run enumerates from the start")
    func graphExpiry() async throws {
        try await Self.withHarness(provider: "microsoft-graph", account: nil, token: Self.graphToken) { h in
            let auth: [(name: String, value: String)] = [("Authorization", "Bearer \(Self.graphToken)")]
            try await Self.graphFirstRound(h)
            h.clock.advance(by: .seconds(300))
            h.transport.expect(.init(Self.graphDelta1, headers: auth), respond: try Self.response("microsoft-graph/users-delta-gone"))
            let expired = try await h.run()
            #expect(expired.anomalies == [.syncTokenExpired] && expired.pages == 0)
            #expect(try await h.cursor("users").isEmpty)

            h.clock.advance(by: .seconds(300))
            h.transport.expect(.init(Self.graphDelta, headers: auth), respond: try Self.response("microsoft-graph/users-delta-resync"))
            let resync = try await h.run()
            #expect(resync.pages == 1 && resync.observations == 4)
            // Only Adele's changed state is new. Alex, deleted while the token was dead, is simply absent
            // from a full enumeration: no poll can say so; telling that apart is the sweep's job.
            #expect(resync.newEvents == 1)
            #expect(try await h.events().last?.recordId == "3f1d9c2a-6b7e-4a15-9d3c-0e8f2b4a6c11")
            #expect(try await h.cursor("users") == PollCursor(
                syncToken: "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=Zc3Vb6Nm9Aq2Ws5Ed8Rf1Tg4Yh7Uj0Ik3Ol6Pz9Xc2Vb5Nm8Aq1Ws4Ed7Rf0Tg3Yh6Uj9Ik2Ol5Pz8"
            ))
        }
    }

    // MARK: What the real APIs exposed

    @Test("a connection without API credentials is not polled, so a webhook-only connection never calls the real API")
    func webhookOnlyConnectionIsNotPolled() async throws {
        let directory = try TestPaths.temporaryDirectory("real-api")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.appendingPathComponent("t.db").path, masterKey: TestSecrets.masterKey, logger: Logger(label: "real-api-test"))
        _ = try await store.addConnection(id: "gh", provider: "github", tenant: "acme", account: "octo-org/octo-repo", toleranceSeconds: nil, webhookSecrets: ["s"], now: 0)
        let transport = FixtureTransport()
        let runner = PollRunner(store: store, catalog: try ManifestCatalog.load(directory: TestPaths.providers), transport: transport, clock: EngineClock.system.reading({ Self.start }))
        #expect(try await runner.pollers().isEmpty)
        try await store.setAPICredentials(connection: "gh", token: "ghp_x", baseURL: nil, now: 0)
        #expect(try await runner.pollers().map(\.resource.name) == ["issues"])
        #expect(transport.requests.isEmpty)
    }

    @Test("timestamp cursor: a page token keeps the query's since, also after a result-cap restart")
    func pageTokenKeepsSince() {
        let second: Int64 = 1_000_000
        let w = Self.start - 3600 * second
        let machine = CursorMachine(kind: .timestamp, resultCap: 400, pageSize: 200)
        var cursor = machine.begin(PollCursor(watermark: w), now: Self.start)
        #expect(machine.request(cursor) == PageRequest(since: w))
        cursor = machine.advance(cursor, page: PageOutcome(items: [PageItem(id: "1", updatedAt: w + second)], hasMore: true, nextPageToken: "200")).cursor
        // Page 2 of the same search: the same lower bound, with the token.
        #expect(machine.request(cursor) == PageRequest(since: w, pageToken: "200"))
        // A third page would pass the 400 cap: the query restarts from the latest time seen ...
        cursor = machine.advance(cursor, page: PageOutcome(items: [PageItem(id: "2", updatedAt: w + 2 * second)], hasMore: true, nextPageToken: "400")).cursor
        #expect(machine.request(cursor) == PageRequest(since: w + 2 * second))
        // ... and that restarted query's later pages keep its new bound.
        cursor = machine.advance(cursor, page: PageOutcome(items: [PageItem(id: "3", updatedAt: w + 3 * second)], hasMore: true, nextPageToken: "200")).cursor
        #expect(machine.request(cursor) == PageRequest(since: w + 2 * second, pageToken: "200"))
    }
}
