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
import TributaryStore
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
        let store = try Store(path: directory.appendingPathComponent("t.db").path, masterKey: StoreTests.key, logger: logger)
        let catalog = try ManifestCatalog.load(directory: TestPaths.providers)
        _ = try await store.addConnection(id: "p1", provider: provider, tenant: "acme", account: account, toleranceSeconds: nil, webhookSecrets: [], now: 0)
        try await store.setAPICredentials(connection: "p1", token: "tok", baseURL: nil, now: 0)
        let runner = PollRunner(store: store, catalog: catalog, transport: transport, now: { now * 1_000_000 })
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

    // MARK: outbound: redirects, the SSRF guard, {account}

    /// What reached a test server: `path authorization` per request.
    final class Hits: Sendable {
        let list = Mutex<[String]>([])
        var all: [String] { list.withLock { $0 } }
    }

    /// A loopback server that counts what reaches it, and answers what `respond` says.
    static func withServer(
        _ respond: @escaping @Sendable (Request) -> Response,
        _ body: @escaping @Sendable (_ port: Int, _ hits: Hits) async throws -> Void
    ) async throws {
        let hits = Hits()
        let router = Router()
        for path in ["/away", "/moved", "/here", "/stolen", "/records"] {
            router.get(RouterPath(path)) { request, _ in
                hits.list.withLock { $0.append("\(request.uri.path) \(request.headers[.authorization] ?? "-")") }
                return respond(request)
            }
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in try await body(try #require(client.port), hits) }
    }

    /// GitHub's API client (bearer auth), aimed at `base`.
    static func client(base: String, outboundGuard: OutboundGuard) throws -> UpstreamClient {
        let api = try #require(try ManifestCatalog.load(directory: TestPaths.providers).providers["github"]?.manifest.api)
        return UpstreamClient(
            transport: HTTPTransport(outboundGuard: outboundGuard, timeoutSeconds: 5),
            limiter: RateLimiter(budget: RateLimitBudget(capacity: 100, refillPerSecond: 100, now: now * 1_000_000), now: { now * 1_000_000 }),
            api: api, baseURL: base, token: "secret-token", account: nil, maxAttempts: 1, now: { now * 1_000_000 }
        )
    }

    @Test("a redirect to another origin is refused and the token never reaches it; one within the origin is followed")
    func redirects() async throws {
        try await Self.withServer({ _ in Response(status: .ok, body: .init(byteBuffer: .init(string: "{}"))) }) { otherPort, otherHits in
            try await Self.withServer({ request in
                if request.uri.path == "/away" {
                    return Response(status: .found, headers: [.location: "http://127.0.0.1:\(otherPort)/stolen"])
                }
                if request.uri.path == "/moved" { return Response(status: .movedPermanently, headers: [.location: "/here"]) }
                return Response(status: .ok, body: .init(byteBuffer: .init(string: #"{"ok":true}"#)))
            }) { apiPort, apiHits in
                let base = "http://127.0.0.1:\(apiPort)"
                let client = try Self.client(base: base, outboundGuard: OutboundGuard(allowPrivate: true))
                let logger = Logger(label: "hostile")
                await #expect(throws: UpstreamError.self) {
                    _ = try await client.send(UpstreamRequest(url: base + "/away"), priority: .incrementalPoll, logger: logger)
                }
                #expect(otherHits.all.isEmpty, "the other origin was reached: \(otherHits.all)")
                let followed = try await client.send(UpstreamRequest(url: base + "/moved"), priority: .incrementalPoll, logger: logger)
                #expect(followed.status == 200)
                #expect(apiHits.all.map { $0.split(separator: " ").first.map(String.init) ?? "" } == ["/away", "/moved", "/here"])
                #expect(apiHits.all.allSatisfy { $0.hasSuffix("Bearer secret-token") })
            }
        }
    }

    struct GuardRow: Sendable, CustomStringConvertible {
        var name: String
        var answers: [[UInt8]]
        var allowPrivate: Bool
        var description: String { name }
    }

    static let guardRows: [GuardRow] = [
        GuardRow(name: "private 10/8", answers: [[10, 0, 0, 1]], allowPrivate: false),
        GuardRow(name: "cloud metadata 169.254.169.254", answers: [[169, 254, 169, 254]], allowPrivate: false),
        GuardRow(name: "link-local even when private is allowed", answers: [[169, 254, 169, 254]], allowPrivate: true),
        GuardRow(name: "loopback without the setting", answers: [[127, 0, 0, 1]], allowPrivate: false),
        GuardRow(name: "unspecified 0.0.0.0", answers: [[0, 0, 0, 0]], allowPrivate: true),
        GuardRow(name: "multicast", answers: [[224, 0, 0, 1]], allowPrivate: true),
        GuardRow(name: "one public and one private answer", answers: [[93, 184, 216, 34], [192, 168, 1, 1]], allowPrivate: false),
        GuardRow(name: "IPv6 loopback", answers: [Array(repeating: 0, count: 15) + [1]], allowPrivate: false),
        GuardRow(name: "IPv4-mapped private", answers: [Array(repeating: 0, count: 10) + [0xff, 0xff, 10, 1, 2, 3]], allowPrivate: false),
        GuardRow(name: "IPv6 unique local", answers: [[0xfd] + Array(repeating: 0, count: 15)], allowPrivate: false),
        GuardRow(name: "IPv6 link-local", answers: [[0xfe, 0x80] + Array(repeating: 0, count: 14)], allowPrivate: true),
    ]

    @Test("the SSRF guard refuses, before any connection, a host resolving to an address it must not reach", arguments: guardRows)
    func ssrfGuard(row: GuardRow) async throws {
        // The name resolves (by the injected resolver) to the row's addresses; the URL's port is a live
        // loopback server that counts connections, which must stay at zero.
        try await Self.withServer({ _ in Response(status: .ok) }) { port, hits in
            let outboundGuard = OutboundGuard(allowPrivate: row.allowPrivate) { _ in row.answers }
            let base = "http://api.provider.test:\(port)"
            let client = try Self.client(base: base, outboundGuard: outboundGuard)
            do {
                _ = try await client.send(UpstreamRequest(url: base + "/records"), priority: .incrementalPoll, logger: Logger(label: "hostile"))
                Issue.record("the request was not refused")
            } catch let error as UpstreamError {
                #expect(error.refused)
                #expect(error.description.contains("refusing to connect to api.provider.test"), "\(error)")
                #expect(!error.description.contains("secret-token"))
            }
            #expect(hits.all.isEmpty)
        }
        #expect(OutboundGuard.classify([8, 8, 8, 8]) == .global)
    }

    @Test("{account} is checked for where it goes: a host name in a host, encoded segments in a path")
    func accountTemplates() throws {
        for hostile in ["evil.com#", "evil.com/x", "user@evil.com", "a b", "", "-x", "x:1"] {
            #expect(throws: ManifestError.self, "\(hostile)") { try URLTemplate.fillBaseURL("https://{account}/", account: hostile).get() }
        }
        #expect(try URLTemplate.fillBaseURL("https://{account}/", account: "acme.myshopify.com").get() == "https://acme.myshopify.com/")
        #expect(try URLTemplate.fillBaseURL("https://{account}.zendesk.com", account: "acme").get() == "https://acme.zendesk.com")
        #expect(try URLTemplate.fillPath("/repos/{account}/issues", account: "octo/hello").get() == "/repos/octo/hello/issues")
        #expect(try URLTemplate.fillPath("/repos/{account}/issues", account: "a?b#c").get() == "/repos/a%3Fb%23c/issues")
        for hostile in ["../admin", "octo/..", "a//b", ""] {
            #expect(throws: ManifestError.self, "\(hostile)") { try URLTemplate.fillPath("/repos/{account}/issues", account: hostile).get() }
        }
    }

    // MARK: cursors that loop

    /// Answers every request with a Zendesk page whose next cursor is always `A` (the tickets differ,
    /// so only the repeated request can tell).
    final class SameCursor: UpstreamTransport {
        let count = Mutex(0)
        func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
            let n = count.withLock { $0 += 1; return $0 }
            let body = #"{"tickets":[{"id":\#(n),"updated_at":"2026-11-20T10:00:00Z","status":"open"}],"after_cursor":"A","end_of_stream":false}"#
            return UpstreamResponse(status: 200, headers: [], body: Array(body.utf8))
        }
    }

    /// Answers every request with the same tickets, under a next cursor that changes on every call.
    final class ChangingCursor: UpstreamTransport {
        let count = Mutex(0)
        func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
            let n = count.withLock { $0 += 1; return $0 }
            let body = #"{"tickets":[{"id":1,"updated_at":"2026-11-20T10:00:00Z","status":"open"}],"after_cursor":"A\#(n)","end_of_stream":false}"#
            return UpstreamResponse(status: 200, headers: [], body: Array(body.utf8))
        }
    }

    @Test("a page token that leads back to itself stops the run with an anomaly, after one repeat at most")
    func cursorLoop() async throws {
        let transport = SameCursor()
        let (report, _, _, state) = try await Self.pollOnce(provider: "zendesk", account: "acme", transport: transport)
        #expect(transport.count.withLock { $0 } == 2, "the identical request was sent again")
        #expect(report.anomalies.contains(.repeatedRequest))
        #expect(state.lastAnomaly?.contains("repeatedRequest") == true, "\(state.lastAnomaly ?? "none")")
        #expect(state.cursor.run == nil, "the next run would resume at the looping page at once")

        let changing = ChangingCursor()
        let (again, _, _, _) = try await Self.pollOnce(provider: "zendesk", account: "acme", transport: changing)
        #expect(changing.count.withLock { $0 } == 2, "pages repeating the same items were asked for again")
        #expect(again.anomalies.contains(.repeatedPage))
        let machine = CursorMachine(kind: .syncToken, pageSize: 2)
        let stalled = machine.advance(PollCursor(syncToken: "S"), page: PageOutcome(items: [PageItem(id: "1", updatedAt: nil), PageItem(id: "2", updatedAt: nil)], hasMore: false, syncToken: "S"))
        #expect(stalled.anomalies == [.syncTokenStalled])
    }

    // MARK: manifests, secrets at rest, removal

    @Test("a manifest integer out of range is a path-precise validation error, exit 2, not a trap")
    func manifestBounds() throws {
        let directory = try TestPaths.temporaryDirectory("hostile-manifest")
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try String(contentsOfFile: TestPaths.providers + "/github.yaml", encoding: .utf8)
        for (needle, replacement, path) in [
            ("lookback: 1", "lookback: 9223372036854775807", "/poll/resources/0/cursor/lookback"),
            ("lookback: 1", "lookback: 99999999999999999999999", "/poll/resources/0/cursor/lookback"),
            ("interval: 300", "interval: 0", "/poll/resources/0/interval"),
            ("interval: 300", "interval: 99999999999", "/poll/resources/0/interval"),
        ] {
            let broken = original.replacingOccurrences(of: needle, with: replacement)
            try #require(broken != original, "github.yaml has no \(needle)")
            let file = directory.appendingPathComponent("github.yaml").path
            try broken.write(toFile: file, atomically: true, encoding: .utf8)
            let result = try CLITests.run(["providers", "validate", file], in: directory)
            #expect(result.status == 2, "\(replacement): \(result.stderr)")
            #expect(result.stderr.contains("\(file): \(path)"), "\(replacement): \(result.stderr)")
        }
    }

    @Test("secrets: the database files are 0600, secrets come from a file or stdin, events show redacts clientState")
    func secrets() async throws {
        let directory = try TestPaths.temporaryDirectory("hostile-secrets")
        defer { try? FileManager.default.removeItem(at: directory) }
        let legacy = directory.appendingPathComponent("legacy.db").path
        _ = FileManager.default.createFile(atPath: legacy, contents: nil, attributes: [.posixPermissions: 0o644])
        _ = try Store(path: legacy, masterKey: StoreTests.key, logger: Logger(label: "hostile"))
        #expect(try FileManager.default.attributesOfItem(atPath: legacy)[.posixPermissions] as? Int == 0o600, "an older 0644 database stayed readable")
        let secretFile = directory.appendingPathComponent("secret").path
        try "from-a-file\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        let add = try CLITests.run(["connections", "add", "--provider", "github", "--tenant", "acme", "--id", "g1", "--webhook-secret", "@" + secretFile], in: directory)
        #expect(add.status == 0, "\(add.stderr)")
        let database = directory.appendingPathComponent("cli.db").path
        for file in [database, database + "-wal", database + "-shm"] where FileManager.default.fileExists(atPath: file) {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file) is \(String(mode ?? 0, radix: 8))")
        }
        let missing = try CLITests.run(["connections", "add", "--provider", "github", "--tenant", "acme", "--webhook-secret", "@/nonexistent/file"], in: directory)
        #expect(missing.status == 2 && missing.stderr.contains("--webhook-secret @/nonexistent/file"), "\(missing.stderr)")
        let empty = try CLITests.run(["connections", "add", "--provider", "standard-webhooks", "--tenant", "acme", "--webhook-secret", "whsec_"], in: directory)
        #expect(empty.status == 2 && empty.stderr.contains("--webhook-secret"), "\(empty.stderr)")
        let badAccount = try CLITests.run(["connections", "add", "--provider", "shopify", "--tenant", "acme", "--account", "evil.com#"], in: directory)
        #expect(badAccount.status == 2 && badAccount.stderr.contains("--account"), "\(badAccount.stderr)")

        var logger = Logger(label: "hostile")
        logger.logLevel = .critical
        let store = try Store(path: database, masterKey: nil, logger: logger)
        let stored = try #require(try await store.connection(id: "g1"))
        #expect(stored.webhookSecrets == ["from-a-file"])
        _ = try await store.addConnection(id: "m1", provider: "microsoft-graph", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [Self.graphState], now: 0)
        let notification = #"{"value":[{"clientState":"\#(Self.graphState)","changeType":"updated","resourceData":{"id":"u1"}}]}"#
        let appended = try await store.append(EventDraft(
            connection: "m1", tenant: "acme", provider: "microsoft-graph", source: .webhook, eventId: "e1", type: "updated",
            record: nil, occurredAt: nil, receivedAt: 0, headers: [], body: Array(notification.utf8), url: nil
        ))
        let show = try CLITests.run(["events", "show", String(appended.seq)], in: directory)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(!show.stdout.contains(Self.graphState), "events show printed the clientState")
        #expect(show.stdout.contains("[redacted]"))
    }

    @Test("connections remove refuses while events remain; --purge removes them all, and the id is reusable cleanly")
    func removePurge() async throws {
        let directory = try TestPaths.temporaryDirectory("hostile-remove")
        defer { try? FileManager.default.removeItem(at: directory) }
        var logger = Logger(label: "hostile")
        logger.logLevel = .critical
        let store = try Store(path: directory.appendingPathComponent("cli.db").path, masterKey: nil, logger: logger)
        _ = try await store.addConnection(id: "c1", provider: "github", tenant: "old", account: nil, toleranceSeconds: nil, webhookSecrets: ["s"], now: 0)
        let draft = EventDraft(connection: "c1", tenant: "old", provider: "github", source: .webhook, eventId: "d-1", type: "issues",
                               record: RecordRef(recordType: "issue", recordId: "1", version: 1, deleted: false, fullState: true),
                               occurredAt: nil, receivedAt: 0, headers: [], body: Array(#"{"id":1}"#.utf8), url: nil)
        #expect(try await store.append(draft).duplicate == false)
        _ = try await store.applyPendingEvents(now: 1) { _, _, body in body }

        let refused = try CLITests.run(["connections", "remove", "c1"], in: directory)
        #expect(refused.status == 2 && refused.stderr.contains("--purge"), "\(refused.stderr)")
        #expect(try await store.connection(id: "c1") != nil)
        let purged = try CLITests.run(["connections", "remove", "c1", "--purge"], in: directory)
        #expect(purged.status == 0, "\(purged.stderr)")
        #expect(purged.stdout.contains("1 event(s) and 1 record(s)"), "\(purged.stdout)")

        // Nothing can be stored under a removed id: intake may have looked the connection up just before the purge.
        await #expect(throws: StoreError.self) { _ = try await store.append(draft) }
        _ = try await store.addConnection(id: "c1", provider: "github", tenant: "new", account: nil, toleranceSeconds: nil, webhookSecrets: ["s"], now: 2)
        var again = draft
        again.tenant = "new"
        #expect(try await store.append(again).duplicate == false, "the old event id still counts as a duplicate")
        #expect(try await store.records(connection: "c1").isEmpty, "the old tenant's record survived")
    }
}
