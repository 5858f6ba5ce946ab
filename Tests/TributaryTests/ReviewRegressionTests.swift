import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import TributaryCore
import TributaryProviders
import TributaryRuntime
import TributaryScheduling
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting
import TributaryUpstream

/// Defects found in review, each pinned by a test.
@Suite("Review regressions")
struct ReviewRegressionTests {
    @Test("a signed timestamp at the edge of Int64 is refused, not a crash", arguments: ["-9223372036854775808", "9223372036854775807", "99999999999999999"])
    func hostileTimestamp(value: String) throws {
        let catalog = try ManifestCatalog.load(directory: TestPaths.providers)
        let verifier = try #require(catalog.providers["stripe"]?.verifier)
        let request = WebhookRequest(method: "POST", url: "http://x/", headers: [("Stripe-Signature", "t=\(value),v1=00")], body: Array("{}".utf8))
        #expect(verifier.verify(request, secrets: ["whsec_x"], now: 1_795_000_000) == .failure(.malformedTimestamp))
    }

    @Test("provider waits are capped at a day, whatever the header says")
    func hostileRetryAfter() {
        let now: Int64 = 1_795_000_000_000_000
        let day = RateLimitSignals.maxWaitSeconds * 1_000_000
        #expect(RateLimitSignals.retryAfter("99999999999999", now: now) == now + day)
        #expect(RateLimitSignals.retryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now: now) == now + day)
        #expect(RateLimitSignals.resetInstant(Int64.max, now: now) <= now + day)
        let header = ["ratelimit": "\"default\";r=0;t=9223372036854775807"]
        #expect(RateLimitSignals.parse(status: 429, header: { header[$0.lowercased()] }, now: now).resetAt == now + day)
    }

    @Test("a higher-priority caller arriving while the head waits for the slot does not strand it")
    func limiterSlotHandOff() async throws {
        let limiter = RateLimiter(budget: RateLimitBudget(capacity: 100, refillPerSecond: 100, now: 0), clock: EngineClock.system.reading { 0 })
        try await limiter.acquire(.incrementalPoll) // holds the only slot
        let order = Order()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await limiter.acquire(.backfill)
                order.append("backfill")
                await limiter.complete(status: 200, signals: RateLimitSignals())
            }
            while await limiter.waiting < 1 { await Task.yield() }
            group.addTask {
                try await limiter.acquire(.webhookFollowUp)
                order.append("follow-up")
                await limiter.complete(status: 200, signals: RateLimitSignals())
            }
            while await limiter.waiting < 2 { await Task.yield() }
            await limiter.complete(status: 200, signals: RateLimitSignals())
            try await group.waitForAll()
        }
        #expect(order.names == ["follow-up", "backfill"])
    }

    /// The order in which callers got through, shared by the test's tasks.
    final class Order: Sendable {
        private let state = Mutex<[String]>([])
        func append(_ name: String) { state.withLock { $0.append(name) } }
        var names: [String] { state.withLock { $0 } }
    }

    @Test("an event for another account than the connection's is quarantined, not routed")
    func accountMismatchIsQuarantined() async throws {
        let directory = try TestPaths.temporaryDirectory("quarantine")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Engine(configuration: TestEngine.configuration(directory: directory))
        _ = try await engine.store.addConnection(id: "gh1", provider: "github", tenant: "acme", account: "7", toleranceSeconds: nil, webhookSecrets: ["s"], now: 0)
        let body = Signer.issueBody(1) // installation 42
        let status = try await TestEngine.live(engine) { client async throws in
            try await client.send("/webhooks/github/gh1", headers: Signer.github(body: body, secret: "s", delivery: "d1"), body: body).status
        }
        #expect(status == .ok)
        let event = try #require(try await engine.store.events(EventFilter()).first)
        #expect(event.status == .quarantined)
        #expect(event.reason?.contains("42") == true)
    }

    @Test("the last webhook secret cannot be retired (that would let any handshake install one)")
    func lastSecretStays() async throws {
        let directory = try TestPaths.temporaryDirectory("secret")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.appendingPathComponent("s.db").path, masterKey: TestSecrets.masterKey, logger: Logger(label: "t"))
        _ = try await store.addConnection(id: "a", provider: "asana", tenant: "t", account: nil, toleranceSeconds: nil, webhookSecrets: ["only"], now: 0)
        await #expect(throws: StoreError.self) { try await store.retireWebhookSecret(connection: "a", secret: "only", now: 1) }
        #expect(try await store.connection(id: "a")?.webhookSecrets == ["only"])
    }

    @Test("credentials are never sent to an origin other than the API's, checked before any connection")
    func noTokenToForeignOrigin() async throws {
        let transport = FixtureTransport()
        let api = try JSONDecoder().decode(ProviderManifest.API.self, from: Data(#"{"baseURL":"https://api.example.test","auth":{"style":"bearer"}}"#.utf8))
        let client = UpstreamClient(
            transport: transport, limiter: RateLimiter(budget: RateLimitBudget(capacity: 1, refillPerSecond: 1, now: 0), clock: EngineClock.system.reading { 0 }),
            api: api, baseURL: nil, token: "secret-token", account: nil, clock: EngineClock.system.reading { 0 }
        )
        await #expect(throws: UpstreamError.self) {
            _ = try await client.send(UpstreamRequest(url: "https://evil.example.test/next?page=2"), priority: .incrementalPoll, logger: Logger(label: "t"))
        }
        #expect(transport.requests.isEmpty)
    }
}
