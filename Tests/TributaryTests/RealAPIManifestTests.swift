import Foundation
import Logging
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
@Suite("Real API manifests")
struct RealAPIManifestTests {
    /// 2024-11-20T12:00:00Z: the engine clock when the first run starts.
    static let start: Int64 = 1_732_104_000 * 1_000_000

    /// One connection of one provider on a temp-file store, polled through a fixture transport.
    struct Harness {
        let store: Store
        let transport: FixtureTransport
        let runner: PollRunner
        /// The time stands still unless a test moves it (waits still take real time).
        let clock: ManualClock
        let connection: Connection
        let api: ProviderManifest.API
        let logger: Logger

        /// One run of the connection's only polled resource, as `poll --once` does it.
        func run() async throws -> PollReport {
            let pollers = try await runner.pollers(connection: connection.id)
            try #require(pollers.count == 1)
            let report = await pollers[0].runOnce(logger: logger)
            #expect(transport.mismatches.isEmpty, "\(transport.mismatches)")
            #expect(transport.unanswered == 0, "\(transport.unanswered) scripted pages were not requested")
            #expect(report.error == nil, "\(report.error ?? "")")
            return report
        }

        func cursor(_ resource: String) async throws -> PollCursor {
            try await store.pollState(connection: connection.id, resource: resource).cursor
        }

        func events() async throws -> [StoredEvent] {
            try await store.events(EventFilter(connection: connection.id, limit: 1000))
        }

        var budget: RateLimitBudget {
            get async { await runner.limiter(for: connection, api: api).snapshot }
        }
    }

    static func withHarness(
        provider: String, account: String?, token: String, providers: String = TestPaths.providers, baseURL: String? = nil,
        _ body: (Harness) async throws -> Void
    ) async throws {
        let directory = try TestPaths.temporaryDirectory("real-api")
        defer { try? FileManager.default.removeItem(at: directory) }
        var logger = Logger(label: "real-api-test")
        logger.logLevel = .critical
        let store = try Store(path: directory.appendingPathComponent("t.db").path, masterKey: TestSecrets.masterKey, logger: logger)
        let catalog = try ManifestCatalog.load(directory: providers)
        let api = try #require(catalog.providers[provider]?.manifest.api)
        let connection = try await store.addConnection(
            id: "\(provider)-1", provider: provider, tenant: "acme", account: account, toleranceSeconds: nil, webhookSecrets: [], now: 0
        )
        try await store.setAPICredentials(connection: connection.id, token: token, baseURL: baseURL, now: 0)
        let clock = ManualClock(now: RealAPIManifestTests.start)
        let transport = FixtureTransport()
        let runner = PollRunner(store: store, catalog: catalog, transport: transport, holder: "test", clock: EngineClock.system.reading(clock.now))
        try await body(Harness(store: store, transport: transport, runner: runner, clock: clock, connection: connection, api: api, logger: logger))
    }

    static func t(_ rfc3339: String) -> Int64 { Timestamp.microseconds(rfc3339: rfc3339)! }

    static func response(_ name: String) throws -> UpstreamResponse { try FixtureTransport.response(name) }

    // MARK: GitHub

    @Test("GitHub issues: since, Link paging, ETag then 304, X-RateLimit-Remaining")
    func github() async throws {
        let token = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
        let auth: [(name: String, value: String)] = [
            ("Authorization", "Bearer \(token)"), ("X-GitHub-Api-Version", "2022-11-28"), ("User-Agent", "tributary"),
        ]
        let list = "https://api.github.com/repos/octo-org/octo-repo/issues?state=all&sort=updated&direction=asc&per_page=100"
        let etag1 = #"W/"9f5e2a1c7b3d40e8a6c1f0b2d4e6a8c0b1d3f5e7a9c2e4f6a8b0c2d4e6f8a0b2""#
        let etag2 = #"W/"7a9c1e3f5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a""#
        try await Self.withHarness(provider: "github", account: "octo-org/octo-repo", token: token) { h in
            // Backfill: no since, no validator; the Link URL of page 2 is fetched as given.
            h.transport.expect(.init(list, headers: auth, absentHeaders: ["If-None-Match"]), respond: try Self.response("github/issues-page-1"))
            h.transport.expect(
                .init("https://api.github.com/repositories/820123456/issues?state=all&sort=updated&direction=asc&per_page=100&page=2", headers: auth),
                respond: try Self.response("github/issues-page-2")
            )
            let first = try await h.run()
            #expect(first.pages == 2 && first.newEvents == 4)
            let events = try await h.events()
            #expect(events.map(\.recordId) == ["2640001201", "2640001202", "2640001203", "2640001204"])
            #expect(events.allSatisfy { $0.recordType == "issue" && $0.source == .poll && $0.fullState && !$0.deleted })
            let versions = ["2024-11-18T09:15:02Z", "2024-11-19T14:03:47Z", "2024-11-20T08:30:00Z", "2024-11-20T11:41:09Z"].map(Self.t)
            #expect(events.map(\.version) == versions)
            // A version that is a time (whole seconds) carries a digest of the content: two edits within one second differ.
            #expect(zip(events, versions).allSatisfy { event, version in
                event.eventId.hasPrefix("poll:issue:\(event.recordId ?? ""):\(version).h") && event.eventId.count == "poll:issue:\(event.recordId ?? ""):\(version).h".count + 16
            }, "\(events.map(\.eventId))")
            // The pull request GitHub lists among the issues is kept as an issue record (see github.yaml).
            #expect(String(decoding: events[1].body, as: UTF8.self).contains(#""pull_request":{"#))
            var cursor = try await h.cursor("issues")
            #expect(cursor.watermark == Self.t("2024-11-20T11:41:09Z") && cursor.afterId == nil && cursor.run == nil)
            #expect(cursor.etag == etag1)
            // X-RateLimit-Remaining (4872 after page 2) lowered the local bucket below its own count.
            #expect(await h.budget.tokens == 4872)

            // Next run: since = the watermark less the 1 s lookback. That is another URL than the one the first
            // page's validator answered (no since), so no If-None-Match goes with it.
            h.clock.advance(by: .seconds(300))
            h.transport.expect(
                .init(list, query: [("since", "2024-11-20T11:41:08Z")], headers: auth, absentHeaders: ["If-None-Match"]),
                respond: try Self.response("github/issues-since")
            )
            let second = try await h.run()
            #expect(second.pages == 1 && second.observations == 1 && second.newEvents == 0, "the watermark's own second is read again")
            cursor = try await h.cursor("issues")
            #expect(cursor.watermark == Self.t("2024-11-20T11:41:09Z") && cursor.etag == etag2)

            // Same query, nothing changed: 304, nothing stored, cursor kept.
            h.clock.advance(by: .seconds(300))
            h.transport.expect(
                .init(list, query: [("since", "2024-11-20T11:41:08Z")], headers: auth + [("If-None-Match", etag2)]),
                respond: try Self.response("github/issues-not-modified")
            )
            let third = try await h.run()
            #expect(third.notModified && third.pages == 0 && third.observations == 0)
            #expect(try await h.cursor("issues") == cursor)
            #expect(try await h.events().count == 4)
        }
    }

    // MARK: Stripe

    @Test("Stripe events: ending_before forward from the newest, has_more, logged oldest first, dedupe with webhooks")
    func stripe() async throws {
        let token = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
        let auth: [(name: String, value: String)] = [("Authorization", "Bearer \(token)")]
        let events = "https://api.stripe.com/v1/events"
        let evt = (1...6).map { "evt_1QNa8BTrbTestA000000000\($0)" }
        try await Self.withHarness(provider: "stripe", account: nil, token: token) { h in
            // First run: the newest page (has_more: older events exist), then ending_before its newest: caught up.
            h.transport.expect(.init(events, query: [("limit", "100")], headers: auth), respond: try Self.response("stripe/events-newest"))
            h.transport.expect(
                .init(events, query: [("limit", "100"), ("ending_before", evt[2])], headers: auth),
                respond: try Self.response("stripe/events-caught-up")
            )
            let first = try await h.run()
            #expect(first.pages == 2 && first.newEvents == 3)
            var stored = try await h.events()
            // Stripe lists newest first; the log holds them in the order they happened (PageParser fix).
            #expect(stored.map(\.eventId) == [evt[0], evt[1], evt[2]])
            #expect(stored.map(\.type) == ["customer.created", "customer.updated", "invoice.paid"])
            #expect(stored.map(\.recordType) == ["customer", "customer", "invoice"])
            #expect(stored.map(\.recordId) == ["cus_RFtE8Q2w3xYz1A", "cus_RFtE8Q2w3xYz1A", "in_1QNa9kTrbTestA00Inv0001"])
            #expect(stored.map(\.version) == [1_732_102_200, 1_732_102_800, 1_732_103_400].map { $0 * 1_000_000 })
            #expect(stored.allSatisfy { $0.source == .poll })
            #expect(try await h.cursor("events") == PollCursor(lastEventId: evt[2]))
            // Stripe sends no budget headers: the manifest's 25/s bucket, less what was spent.
            let budget = await h.budget
            #expect(budget.capacity == 25 && budget.refillPerSecond == 25 && budget.tokens == 23)

            // evt_5 arrives by webhook before the next poll: the polled copy is the same event.
            _ = try await h.store.append(EventDraft(
                connection: h.connection.id, tenant: "acme", provider: "stripe", source: .webhook, eventId: evt[4],
                type: "charge.succeeded", record: nil, occurredAt: nil, receivedAt: Self.start, headers: [], body: Array("{}".utf8), url: nil
            ))
            h.clock.advance(by: .seconds(300))
            h.transport.expect(
                .init(events, query: [("limit", "100"), ("ending_before", evt[2])], headers: auth),
                respond: try Self.response("stripe/events-after-1")
            )
            h.transport.expect(
                .init(events, query: [("limit", "100"), ("ending_before", evt[4])], headers: auth),
                respond: try Self.response("stripe/events-after-2")
            )
            let second = try await h.run()
            #expect(second.pages == 2 && second.observations == 3 && second.newEvents == 2, "evt_5 is a duplicate of the webhook's")
            stored = try await h.events()
            #expect(stored.map(\.eventId) == [evt[0], evt[1], evt[2], evt[4], evt[3], evt[5]])
            #expect(stored[3].source == .webhook)
            #expect(stored[4].type == "balance.available" && stored[4].recordId == nil, "no rule maps a balance")
            #expect(stored[5].recordType == "payment_intent" && stored[5].recordId == "pi_3QNaA1TrbTestA0PI00001")
            #expect(try await h.cursor("events") == PollCursor(lastEventId: evt[5]))
        }
    }

    // MARK: Zendesk

    @Test("Zendesk incremental tickets: start_time, cursor, end_of_stream, deleted status, X-Rate-Limit-Remaining")
    func zendesk() async throws {
        let token = "agent@acme.example/token:6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv"
        let auth: [(name: String, value: String)] = [("Authorization", "Basic " + Data(token.utf8).base64EncodedString())]
        let export = "https://acme.zendesk.com/api/v2/incremental/tickets/cursor.json"
        let (c1, c2, c3) = ("MTczMjA5MzM2NS4wfHwzNTQzN3w=", "MTczMjEwMjIwMi4wfHwzNTQzOXw=", "MTczMjEwNDI3MS4wfHwzNTQzNnw=")
        try await Self.withHarness(provider: "zendesk", account: "acme", token: token) { h in
            h.transport.expect(.init(export, query: [("start_time", "0")], headers: auth), respond: try Self.response("zendesk/tickets-start"))
            h.transport.expect(.init(export, query: [("cursor", c1)], headers: auth), respond: try Self.response("zendesk/tickets-cursor-1"))
            let first = try await h.run()
            #expect(first.pages == 2 && first.newEvents == 4)
            let events = try await h.events()
            #expect(events.map(\.recordId) == ["35436", "35437", "35438", "35439"])
            #expect(events.map(\.deleted) == [false, false, true, false])
            #expect(events.map(\.type) == ["ticket.observed", "ticket.observed", "ticket.deleted", "ticket.observed"])
            #expect(events.map(\.version) == ["2024-11-19T16:20:11Z", "2024-11-20T09:02:45Z", "2024-11-20T10:15:00Z", "2024-11-20T11:30:02Z"].map(Self.t))
            // The last page's after_cursor is where the next export starts.
            #expect(try await h.cursor("tickets") == PollCursor(syncToken: c2))
            // X-Rate-Limit-Remaining: 3 (the account's budget, shared with other clients) is below the local 8.
            #expect(await h.budget.tokens == 3)

            h.clock.advance(by: .seconds(600))
            h.transport.expect(.init(export, query: [("cursor", c2)], headers: auth), respond: try Self.response("zendesk/tickets-cursor-2"))
            let second = try await h.run()
            #expect(second.pages == 1 && second.newEvents == 1)
            let latest = try #require(try await h.events().last)
            #expect(latest.recordId == "35436" && latest.version == Self.t("2024-11-20T12:04:31Z"))
            #expect(try await h.cursor("tickets") == PollCursor(syncToken: c3))
        }
    }

    // MARK: Shopify

    @Test("Shopify orders: updated_at_min, Link page_info, ids beyond 2^53, X-Shopify-Shop-Api-Call-Limit")
    func shopify() async throws {
        let token = "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"
        let auth: [(name: String, value: String)] = [("X-Shopify-Access-Token", token)]
        let orders = "https://tributary-test.myshopify.com/admin/api/2024-10/orders.json"
        let query: [(name: String, value: String)] = [("status", "any"), ("order", "updated_at asc"), ("limit", "250")]
        let big = "9007199254740993"
        try await Self.withHarness(provider: "shopify", account: "tributary-test.myshopify.com", token: token) { h in
            h.transport.expect(.init(orders, query: query, headers: auth, absentHeaders: ["Authorization"]), respond: try Self.response("shopify/orders-page-1"))
            h.transport.expect(
                .init(
                    orders + "?limit=250&page_info=eyJsYXN0X2lkIjo5MDA3MTk5MjU0NzQwOTkzLCJsYXN0X3ZhbHVlIjoiMjAyNC0xMS0yMCAwOTo0NToxMC4wMDAwMDAiLCJkaXJlY3Rpb24iOiJuZXh0In0",
                    headers: auth
                ),
                respond: try Self.response("shopify/orders-page-2")
            )
            let first = try await h.run()
            #expect(first.pages == 2 && first.newEvents == 3)
            let events = try await h.events()
            #expect(events.map(\.recordId) == ["5678901234567", big, "5678901299999"])
            let bigVersion = Self.t("2024-11-20T04:45:10-05:00")
            #expect(events[1].version == bigVersion && events[1].eventId.hasPrefix("poll:order:\(big):\(bigVersion).h"))
            #expect(String(decoding: events[1].body, as: UTF8.self).contains(#"{"id":9007199254740993,"#), "the stored state keeps the literal")
            #expect(try await h.cursor("orders").watermark == Self.t("2024-11-20T06:31:55-05:00"))
            // 13/40 used: 27 left, fewer than the local count; the bucket size is the header's 40.
            let budget = await h.budget
            #expect(budget.tokens == 27 && budget.capacity == 40)

            h.clock.advance(by: .seconds(600))
            h.transport.expect(
                .init(orders, query: query + [("updated_at_min", "2024-11-20T11:31:55Z")], headers: auth),
                respond: try Self.response("shopify/orders-updated-since")
            )
            let second = try await h.run()
            #expect(second.pages == 1 && second.observations == 2 && second.newEvents == 1)
            let latest = try #require(try await h.events().last)
            #expect(latest.recordId == big && latest.version == Self.t("2024-11-20T07:03:20-05:00"))
            #expect(try await h.cursor("orders").watermark == Self.t("2024-11-20T07:03:20-05:00"))
        }
    }

    // MARK: HubSpot

    static func hubspotSearch(sinceMs: Int64, after: String) -> String {
        """
        {"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"GTE","value":"\(sinceMs)"}]}],
         "sorts":[{"propertyName":"lastmodifieddate","direction":"ASCENDING"}],
         "properties":["email","firstname","lastname","lastmodifieddate"],"limit":200,"after":"\(after)"}
        """
    }

    @Test("HubSpot contact search: lastmodifieddate GTE since_ms on every page, after paging, search lag")
    func hubspot() async throws {
        let token = "pat-na1-11223344-5566-7788-99aa-bbccddeeff00"
        let headers: [(name: String, value: String)] = [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")]
        let search = "https://api.hubapi.com/crm/v3/objects/contacts/search"
        try await Self.withHarness(provider: "hubspot", account: nil, token: token) { h in
            h.transport.expect(.init(search, method: "POST", headers: headers, jsonBody: Self.hubspotSearch(sinceMs: 0, after: "0")), respond: try Self.response("hubspot/contacts-backfill-1"))
            h.transport.expect(.init(search, method: "POST", headers: headers, jsonBody: Self.hubspotSearch(sinceMs: 0, after: "2")), respond: try Self.response("hubspot/contacts-backfill-2"))
            let first = try await h.run()
            #expect(first.pages == 2 && first.newEvents == 3)
            let events = try await h.events()
            #expect(events.map(\.recordId) == ["101", "102", "103"])
            #expect(events.map(\.version) == ["2024-11-18T08:00:00.123Z", "2024-11-19T17:45:30.456Z", "2024-11-20T11:59:30Z"].map(Self.t))
            // Contact 103 changed 30 s before the run, inside the 60 s lag: the watermark stops at 102.
            let watermark = Self.t("2024-11-19T17:45:30.456Z")
            #expect(try await h.cursor("contacts") == PollCursor(watermark: watermark))
            // Search responses carry no rate-limit headers: the manifest's 5/s, less two requests.
            #expect(await h.budget.tokens == 3)

            // Next run: both pages of the one query carry its bound (CursorMachine fix: page 2 used to send 0).
            h.clock.advance(by: .seconds(600))
            let sinceMs = watermark / 1000
            h.transport.expect(.init(search, method: "POST", headers: headers, jsonBody: Self.hubspotSearch(sinceMs: sinceMs, after: "0")), respond: try Self.response("hubspot/contacts-since-1"))
            h.transport.expect(.init(search, method: "POST", headers: headers, jsonBody: Self.hubspotSearch(sinceMs: sinceMs, after: "2")), respond: try Self.response("hubspot/contacts-since-2"))
            let second = try await h.run()
            #expect(second.pages == 2 && second.observations == 3 && second.newEvents == 1)
            #expect(try await h.events().last?.recordId == "104")
            #expect(try await h.cursor("contacts") == PollCursor(watermark: Self.t("2024-11-20T12:05:00.789Z")))
        }
    }
}
