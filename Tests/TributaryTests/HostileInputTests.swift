import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import TributaryCore
import TributaryPolling
import TributaryProviders
import TributaryRuntime
import TributaryScheduling
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting
import TributaryUpstream

/// Issue 9: every finding of the hostile review, as a row that states what is answered, what is
/// stored, and that the process is still serving afterwards.
@Suite("Hostile input")
struct HostileInputTests {
    static let githubSecret = "gh-secret"
    static let stripeSecret = "whsec_stripe_test"
    static let shopifySecret = "shpss_test"
    static let twilioToken = "twilio-auth-token"
    static let graphState = "graph-client-state-secret"
    static let now: Int64 = 1_790_000_000

    /// One engine, live on loopback, with a connection per provider under attack.
    static func withEngine(_ body: @escaping @Sendable (Engine, any TestClientProtocol) async throws -> Void) async throws {
        let directory = try TestPaths.temporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Engine(configuration: TestEngine.configuration(directory: directory, now: now * 1_000_000))
        let store = engine.store
        _ = try await store.addConnection(id: "gh1", provider: "github", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [githubSecret], now: 0)
        _ = try await store.addConnection(id: "st1", provider: "stripe", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [stripeSecret], now: 0)
        _ = try await store.addConnection(id: "sh1", provider: "shopify", tenant: "acme", account: "acme.myshopify.com", toleranceSeconds: nil, webhookSecrets: [shopifySecret], now: 0)
        _ = try await store.addConnection(id: "tw1", provider: "twilio", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [twilioToken], now: 0)
        _ = try await store.addConnection(id: "mg1", provider: "microsoft-graph", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [graphState], now: 0)
        try await TestEngine.live(engine) { client in
            try await body(engine, client)
            // Whatever the row did, the process still serves.
            let health = try await client.send("/healthz", method: .get, headers: [:], body: "")
            #expect(health.status == .ok, "the server stopped serving")
        }
    }

    static func events(_ engine: Engine, _ connection: String) async throws -> [StoredEvent] {
        try await engine.store.events(EventFilter(connection: connection, limit: 100))
    }

    // MARK: numbers from outside

    struct NumberRow: Sendable, CustomStringConvertible {
        var name: String
        var body: String
        var description: String { name }
    }

    /// Each of these trapped `serve` (exit 132) before the checked conversions: the test process would die.
    static let numberRows: [NumberRow] = [
        NumberRow(name: "created 10^13 seconds", body: #"{"id":"evt_big","type":"customer.updated","created":10000000000000,"data":{"object":{"id":"cus_1","object":"customer"}}}"#),
        NumberRow(name: "created 1e300", body: #"{"id":"evt_e300","type":"customer.updated","created":1e300,"data":{"object":{"id":"cus_1","object":"customer"}}}"#),
        NumberRow(name: "created -1e300", body: #"{"id":"evt_neg","type":"customer.updated","created":-1e300,"data":{"object":{"id":"cus_1","object":"customer"}}}"#),
        NumberRow(name: "created 9223372036854775807", body: #"{"id":"evt_max","type":"customer.updated","created":9223372036854775807,"data":{"object":{"id":"cus_1","object":"customer"}}}"#),
        NumberRow(name: "created with 400 digits", body: #"{"id":"evt_long","type":"customer.updated","created":"# + String(repeating: "9", count: 400) + #","data":{"object":{"id":"cus_1","object":"customer"}}}"#),
    ]

    @Test("a verified Stripe event with a time out of range is quarantined and answered 2xx, and serve lives on", arguments: numberRows)
    func stripeTimeOutOfRange(row: NumberRow) async throws {
        try await Self.withEngine { engine, client in
            let response = try await client.send("/webhooks/stripe/st1", headers: Signer.stripe(body: row.body, secret: Self.stripeSecret, timestamp: Self.now), body: row.body)
            #expect(response.status == .ok)
            #expect(response.json?["quarantined"] == .bool(true))
            let events = try await Self.events(engine, "st1")
            #expect(events.count == 1)
            #expect(events.first?.status == .quarantined)
            #expect(events.first?.reason?.contains("out of range") == true, "\(events.first?.reason ?? "")")
            #expect(events.first?.body == Array(row.body.utf8), "the stored bytes are not the bytes received")
        }
    }

    struct ConversionRow: Sendable, CustomStringConvertible {
        var format: ProviderManifest.TimeFormat
        var text: String
        var expected: Int64?
        var description: String { "\(format.rawValue) \(text)" }
    }

    static let conversionRows: [ConversionRow] = [
        ConversionRow(format: .unixSeconds, text: "1e300", expected: nil),
        ConversionRow(format: .unixSeconds, text: "-1e300", expected: nil),
        ConversionRow(format: .unixSeconds, text: "10000000000000", expected: nil),
        ConversionRow(format: .unixSeconds, text: "nan", expected: nil),
        ConversionRow(format: .unixSeconds, text: "inf", expected: nil),
        ConversionRow(format: .unixSeconds, text: "0x10", expected: nil),
        ConversionRow(format: .unixSeconds, text: "1.5", expected: 1_500_000),
        ConversionRow(format: .unixSeconds, text: "1732104000", expected: 1_732_104_000_000_000),
        ConversionRow(format: .unixMilliseconds, text: "9223372036854775807", expected: nil),
        ConversionRow(format: .unixMilliseconds, text: "1e19", expected: nil),
        ConversionRow(format: .unixMilliseconds, text: "1732104000123", expected: 1_732_104_000_123_000),
        ConversionRow(format: .integer, text: "99999999999999999999", expected: nil),
        ConversionRow(format: .integer, text: "-9223372036854775808", expected: Int64.min),
        ConversionRow(format: .rfc3339, text: "9999-12-31T23:59:59Z", expected: 253_402_300_799_000_000),
        ConversionRow(format: .rfc3339, text: "0000-01-01T00:00:00Z", expected: nil),
    ]

    @Test("every outside number converts through the checked path: out of range is invalid, never a trap", arguments: conversionRows)
    func conversions(row: ConversionRow) {
        #expect(row.format.microseconds(row.text) == row.expected)
    }

    /// A Stripe event feed answering one page with `created: 1e300` beside a good event.
    final class OnePage: UpstreamTransport {
        let body: String
        let requests = Mutex<[UpstreamRequest]>([])
        init(body: String) { self.body = body }
        func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
            requests.withLock { $0.append(request) }
            return UpstreamResponse(status: 200, headers: [("Content-Type", "application/json")], body: Array(body.utf8))
        }
    }

    static func pollOnce(provider: String, account: String?, transport: any UpstreamTransport) async throws -> (PollReport, Store, [StoredEvent], PollState) {
        let directory = try TestPaths.temporaryDirectory("hostile-poll")
        defer { try? FileManager.default.removeItem(at: directory) }
        var logger = Logger(label: "hostile")
        logger.logLevel = .critical
        let store = try Store(path: directory.appendingPathComponent("t.db").path, masterKey: TestSecrets.masterKey, logger: logger)
        let catalog = try ManifestCatalog.load(directory: TestPaths.providers)
        _ = try await store.addConnection(id: "p1", provider: provider, tenant: "acme", account: account, toleranceSeconds: nil, webhookSecrets: [], now: 0)
        try await store.setAPICredentials(connection: "p1", token: "tok", baseURL: nil, now: 0)
        let runner = PollRunner(store: store, catalog: catalog, transport: transport, clock: EngineClock.system.reading({ now * 1_000_000 }))
        let pollers = try await runner.pollers(connection: "p1")
        try #require(pollers.count == 1)
        let report = await pollers[0].runOnce(maxPages: 50, logger: logger)
        let events = try await store.events(EventFilter(connection: "p1", limit: 100))
        let state = try await store.pollState(connection: "p1", resource: pollers[0].resource.name)
        return (report, store, events, state)
    }

    @Test("a poll page with created: 1e300 keeps the run alive: the item is quarantined, the good one logged")
    func pollPageOutOfRange() async throws {
        let page = #"{"object":"list","has_more":false,"data":[{"id":"evt_2","type":"customer.updated","created":1e300,"data":{"object":{"id":"cus_2","object":"customer"}}},{"id":"evt_1","type":"customer.updated","created":1732104000,"data":{"object":{"id":"cus_1","object":"customer"}}}]}"#
        let (report, _, events, _) = try await Self.pollOnce(provider: "stripe", account: nil, transport: OnePage(body: page))
        #expect(report.error == nil, "\(report.error ?? "")")
        #expect(events.count == 2)
        #expect(events.contains { $0.eventId == "evt_1" && $0.status == .pending })
        #expect(events.contains { $0.status == .quarantined && $0.reason?.contains("out of range") == true })
    }

    @Test("a RateLimit-Policy window of Int64.max seconds neither traps nor parks the connection beyond a day")
    func hugeRateLimitWindow() {
        var budget = RateLimitBudget(capacity: 1, refillPerSecond: 1, now: 0)
        var signals = RateLimitSignals()
        signals.quota = 1
        signals.windowSeconds = Int.max
        budget.observe(status: 200, signals: signals, now: 0, random: 0.5)
        #expect(budget.take(now: 0) == nil)
        let wait = budget.take(now: 0)
        #expect(wait != nil && wait! <= RateLimitSignals.maxWaitSeconds * 1_000_000)
    }

    // MARK: lone surrogates, account routing, replays

    @Test("a verified event with a lone UTF-16 surrogate is stored (read as U+FFFD), its bytes as received")
    func loneSurrogate() async throws {
        try await Self.withEngine { engine, client in
            let body = #"{"action":"edited","issue":{"id":77,"number":7,"title":"truncated \ud83d","updated_at":"2026-11-20T10:00:00Z"}}"#
            let response = try await client.send("/webhooks/github/gh1", headers: Signer.github(body: body, secret: Self.githubSecret, delivery: "d-surrogate"), body: body)
            #expect(response.status == .ok)
            #expect(response.json?["quarantined"] == nil)
            let event = try #require(try await Self.events(engine, "gh1").first)
            #expect(event.status == .pending)
            #expect(event.recordId == "77")
            #expect(event.body == Array(body.utf8))
        }
        #expect(JSONValue(parsing: Array(#"["\udc00","\ud83d\u0041","\ud83d\ude00"]"#.utf8)) == .array([.string("\u{FFFD}"), .string("\u{FFFD}A"), .string("😀")]))
    }

    @Test("routing fails closed: a signed Shopify delivery without the shop header is quarantined, not routed")
    func accountMissing() async throws {
        try await Self.withEngine { engine, client in
            let body = #"{"id":450789469,"updated_at":"2026-11-20T10:00:00-05:00"}"#
            let headerless = Signer.shopify(body: body, secret: Self.shopifySecret, eventId: "e-1", topic: "orders/updated", shop: nil)
            let response = try await client.send("/webhooks/shopify/sh1", headers: headerless, body: body)
            #expect(response.status == .ok)
            #expect(response.json?["quarantined"] == .bool(true))
            // A second body: the same body again would be the replay guard's duplicate (Shopify's event id is unsigned).
            let otherBody = #"{"id":450789470,"updated_at":"2026-11-20T10:00:00-05:00"}"#
            let other = Signer.shopify(body: otherBody, secret: Self.shopifySecret, eventId: "e-2", topic: "orders/updated", shop: "other.myshopify.com")
            #expect(try await client.send("/webhooks/shopify/sh1", headers: other, body: otherBody).json?["quarantined"] == .bool(true))
            let own = Signer.shopify(body: #"{"id":1,"updated_at":"2026-11-20T10:00:00Z"}"#, secret: Self.shopifySecret, eventId: "e-3", topic: "orders/updated", shop: "acme.myshopify.com")
            #expect(try await client.send("/webhooks/shopify/sh1", headers: own, body: #"{"id":1,"updated_at":"2026-11-20T10:00:00Z"}"#).json?["quarantined"] == nil)
            // Shopify sends one body as orders/updated and as orders/paid: two events, not a replay.
            let paidBody = #"{"id":1,"updated_at":"2026-11-20T10:00:00Z"}"#
            let paid = Signer.shopify(body: paidBody, secret: Self.shopifySecret, eventId: "e-4", topic: "orders/paid", shop: "acme.myshopify.com")
            #expect(try await client.send("/webhooks/shopify/sh1", headers: paid, body: paidBody).json?["duplicate"] == .bool(false))
            let events = try await Self.events(engine, "sh1")
            #expect(events.map(\.status) == [.quarantined, .quarantined, .pending, .pending])
            #expect(events[0].reason?.contains("names no account") == true)
        }
    }

    @Test("one account rule for intake and replay: mismatch and, where the manifest names an account, absence are refused")
    func accountRouting() {
        #expect(AccountRouting.refusal(expected: nil, delivered: "b", manifestNamesAccount: true) == nil)
        #expect(AccountRouting.refusal(expected: "a", delivered: "a", manifestNamesAccount: true) == nil)
        #expect(AccountRouting.refusal(expected: "a", delivered: "b", manifestNamesAccount: true)?.contains("does not match") == true)
        #expect(AccountRouting.refusal(expected: "a", delivered: nil, manifestNamesAccount: true)?.contains("names no account") == true)
        #expect(AccountRouting.refusal(expected: "a", delivered: nil, manifestNamesAccount: false) == nil)
    }

    @Test("a replayed GitHub body under a fresh unsigned delivery id is a duplicate; provider ids never reach internal ones")
    func replays() async throws {
        try await Self.withEngine { engine, client in
            let body = Signer.issueBody(9)
            let first = try await client.send("/webhooks/github/gh1", headers: Signer.github(body: body, secret: Self.githubSecret, delivery: "d-1"), body: body)
            let replay = try await client.send("/webhooks/github/gh1", headers: Signer.github(body: body, secret: Self.githubSecret, delivery: "d-forged"), body: body)
            #expect(first.json?["duplicate"] == .bool(false))
            #expect(replay.json?["duplicate"] == .bool(true))
            #expect(replay.json?["seq"] == first.json?["seq"])
            #expect(try await Self.events(engine, "gh1").count == 1)

            let other = Signer.issueBody(10)
            let internalLooking = try await client.send("/webhooks/github/gh1", headers: Signer.github(body: other, secret: Self.githubSecret, delivery: "sweep:1:suspect:issue:1"), body: other)
            #expect(internalLooking.status == .ok)
            #expect(try await Self.events(engine, "gh1").last?.eventId == "provider:sweep:1:suspect:issue:1")
        }
        for raw in ["poll:a:b:1", "fetch:x", "sweep:1:suspect:t:1", "sha256:ab", "quarantine:sha256:ab", "provider:poll:x"] {
            #expect(EventID.provider(raw).hasPrefix("provider:"), "\(raw) stayed in an internal namespace")
        }
        #expect(EventID.provider("evt_123") == "evt_123")
        #expect(EventID.provider("provider:poll:x") != EventID.provider("poll:x"))
    }

    // MARK: Twilio, empty keys, Graph

    @Test("Twilio: a JSON body without bodySHA256, signed over the URL alone, is 401 and stores nothing")
    func twilioUnsignedBody() async throws {
        try await Self.withEngine { engine, client in
            let url = TestEngine.publicURL + "/webhooks/twilio/tw1"
            let forged = #"{"CallSid":"CA1","CallStatus":"canceled","AccountSid":"AC1"}"#
            let json = try await client.send("/webhooks/twilio/tw1", headers: [
                "X-Twilio-Signature": Signer.twilio(url: url, form: [], authToken: Self.twilioToken), "Content-Type": "application/json",
            ], body: forged)
            #expect(json.status == .unauthorized)
            #expect(try await Self.events(engine, "tw1").isEmpty)

            let form = [("CallSid", "CA1"), ("CallStatus", "completed"), ("AccountSid", "AC1")]
            let formBody = form.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
            let headers = [
                "X-Twilio-Signature": Signer.twilio(url: url, form: form, authToken: Self.twilioToken),
                "Content-Type": "application/x-www-form-urlencoded",
            ]
            let real = try await client.send("/webhooks/twilio/tw1", headers: headers, body: formBody)
            #expect(real.status == .ok)
            // The signature covers the decoded, sorted parameters: the same captured signature verifies these
            // re-encodings, and each must be the same event, not a new one.
            for replay in ["AccountSid=AC1&CallStatus=completed&CallSid=CA1", "CallSid=CA1&CallStatus=complet%65d&AccountSid=AC1", formBody + "&&"] {
                let answer = try await client.send("/webhooks/twilio/tw1", headers: headers, body: replay)
                #expect(answer.status == .ok)
                #expect(answer.json?["duplicate"] == .bool(true), "\(replay) was stored again")
            }
            #expect(try await Self.events(engine, "tw1").count == 1)
        }
    }

    @Test("an empty or undecodable key never verifies: a forgery signed with the empty key of whsec_ is refused")
    func emptyKeys() throws {
        let catalog = try ManifestCatalog.load(directory: TestPaths.providers)
        let verifier = try #require(catalog.providers["standard-webhooks"]?.verifier)
        let body = #"{"type":"x","timestamp":"2026-11-20T10:00:00Z"}"#
        let signature = Data(Signer.hmacSHA256(key: [], data: Array("msg_1.\(Self.now).\(body)".utf8))).base64EncodedString()
        let request = WebhookRequest(method: "POST", url: "https://hooks.example.test/x", headers: [
            ("webhook-id", "msg_1"), ("webhook-timestamp", "\(Self.now)"), ("webhook-signature", "v1,\(signature)"),
        ], body: Array(body.utf8))
        #expect(verifier.verify(request, secrets: ["whsec_"], now: Self.now) == .failure(.noMatchingSignature))
        #expect(verifier.secretProblem("whsec_") != nil)
        #expect(verifier.secretProblem("whsec_!!!") != nil)
        #expect(verifier.secretProblem("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == nil)
        let gitlab = try #require(catalog.providers["gitlab"]?.verifier)
        let tokenless = WebhookRequest(method: "POST", url: "https://h/x", headers: [("X-Gitlab-Token", "")], body: [])
        #expect(gitlab.verify(tokenless, secrets: [""], now: Self.now) != .success(Verified(secretIndex: 0)))
    }

    @Test("Graph's validationToken is echoed only on POST, as text/plain with nosniff")
    func graphHandshake() async throws {
        try await Self.withEngine { engine, client in
            let get = try await client.send("/webhooks/microsoft-graph/mg1?validationToken=%3Cscript%3E", method: .get, headers: [:], body: "")
            #expect(get.status != .ok)
            #expect(!get.bodyText.contains("<script>"))
            let post = try await client.send("/webhooks/microsoft-graph/mg1?validationToken=abc", headers: [:], body: "")
            #expect(post.status == .ok)
            #expect(post.bodyText == "abc")
            #expect(post.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(post.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(try await Self.events(engine, "mg1").isEmpty)
        }
    }
}
