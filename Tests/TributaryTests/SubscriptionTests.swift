import Foundation
import HTTPTypes
import Logging
import ProviderSimulator
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryProviders
import TributaryRuntime
import TributaryScheduling
import TributaryStore
import TributaryTesting
import TributaryUpstream

/// Webhook subscriptions made and kept through the provider's API: created with a secret stored
/// first, renewed before the provider's cap runs out, created again (with a poll for the gap) when
/// the provider lost it, backed off when it refuses, and a lifecycle notice acted on, not stored.
@Suite("Webhook subscriptions", .serialized)
struct SubscriptionTests {
    @Test("subscribe, renew, lose it at the provider, recreate with a poll for the gap, back off when refused, unsubscribe")
    func lifecycle() async throws {
        let directory = try TestPaths.temporaryDirectory("subscriptions")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = TestEngine.configuration(directory: directory)
        configuration.now = EngineClock.system.now
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.port = 0   // an ephemeral port: a fixed one collides with another test's simulator
        simulatorConfiguration.types = ["customer"]
        simulatorConfiguration.initialRecordsPerType = 5
        simulatorConfiguration.subscriptionMaxSeconds = 120   // the provider grants at most 2 minutes of the hour asked
        let simulator = try ProviderSimulator(configuration: simulatorConfiguration, logger: SimulatorRig.logger)
        let engineConfiguration = configuration
        try await SimulatorRig.withSimulator(simulator) { port in
            let engine = try Engine(configuration: engineConfiguration)
            let logger = SimulatorRig.logger
            _ = try await engine.store.addConnection(id: "sim1", provider: "simulator", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
            try await engine.store.setAPICredentials(connection: "sim1", token: "sim_token", baseURL: "http://127.0.0.1:\(port)", now: 0)
            let connection = try #require(try await engine.store.connection(id: "sim1"))

            let made = try await engine.subscriptions.subscribe(connection, logger: logger)
            let live = simulator.subscriptions()
            #expect(live.count == 1 && live.first?.url == TestEngine.publicURL + "/webhooks/simulator/sim1")
            let secrets = try #require(try await engine.store.connection(id: "sim1")).webhookSecrets
            #expect(live.first?.secret.map { secrets.contains($0) } == true, "the secret the provider signs with is the connection's")
            #expect(made.subscriptionId == live.first?.id && made.state == .active)
            let capped = try #require(made.expiresAt)
            #expect(abs(capped - (EngineClock.system.now() + 120_000_000)) < 10_000_000, "the expiry is the provider's cap, read from its answer")

            // Half of the 2 minutes granted is left: nothing to do yet.
            #expect(try await engine.subscriptions.runDue(logger: logger).isEmpty)
            // A renewal (as Graph's reauthorizationRequired asks) extends it at the provider.
            try await engine.store.requestSubscriptionAction(connection: "sim1", .renew, now: 1)
            #expect(try await engine.subscriptions.runDue(logger: logger) == ["sim1: subscription renewed"])
            #expect(simulator.subscriptions().first?.renewals == 1)

            // The provider lost it (expired while we were down): the renewal's 404 creates it again,
            // and the connection is polled at once for what was delivered to nobody.
            simulator.expireSubscriptions()
            try await engine.store.requestSubscriptionAction(connection: "sim1", .renew, now: 2)
            #expect(try await engine.subscriptions.runDue(logger: logger) == ["sim1: subscription gone at the provider; created again"])
            #expect(simulator.subscriptionsCreated == 2 && simulator.subscriptions().count == 1)
            #expect(try await engine.store.events(EventFilter(connection: "sim1")).count >= 5, "the gap poll read the records")

            // The provider refuses (a revoked token): the failure is kept with a time to try again.
            try await engine.store.setAPICredentials(connection: "sim1", token: "revoked", baseURL: nil, now: 3)
            try await engine.store.requestSubscriptionAction(connection: "sim1", .renew, now: 3)
            #expect(try await engine.subscriptions.runDue(logger: logger).isEmpty)
            let failing = try #require(try await engine.store.subscription(connection: "sim1"))
            #expect(failing.state == .failing && failing.reason?.contains("401") == true && failing.retryAt != nil, "\(failing)")
            let status = try #require(try await engine.store.status(connection: "sim1").first)
            #expect(status.subscription?.state == .failing)

            try await engine.store.setAPICredentials(connection: "sim1", token: "sim_token", baseURL: nil, now: 4)
            try await engine.subscriptions.unsubscribe(connection, logger: logger)
            #expect(simulator.subscriptions().isEmpty)
            #expect(try await engine.store.subscription(connection: "sim1")?.state == .removed)

            // Removing the connection deletes its subscription at the provider, but a removal the store
            // would refuse (events kept, no --purge) is refused before anything is deleted there.
            let again = try await engine.subscriptions.subscribe(connection, logger: logger)
            await #expect(throws: OperationError.self) { _ = try await engine.removeConnection(id: "sim1", purge: false) }
            #expect(simulator.subscriptions().map(\.id) == [again.subscriptionId].compactMap { $0 })
            let (removed, notes) = try await engine.removeConnection(id: "sim1", purge: true)
            #expect(removed.events >= 5 && notes == ["deleted its subscription \(again.subscriptionId ?? "") at simulator"], "\(notes)")
            #expect(simulator.subscriptions().isEmpty)
            #expect(try await engine.store.connection(id: "sim1") == nil)
        }
    }

    @Test("Stripe's endpoint is made with a form and the secret its answer returns is kept; Zendesk's webhook with JSON and its secret read on its own call; each deleted by id; a secret that cannot be read fails the subscription")
    func stripeAndZendeskAsDocumented() async throws {
        let directory = try TestPaths.temporaryDirectory("subscriptions-docs")
        defer { try? FileManager.default.removeItem(at: directory) }
        let catalog = try ManifestCatalog.loadValid(directory: TestPaths.providers)
        let store = try Store(path: directory.appendingPathComponent("subs.db").path, masterKey: TestSecrets.masterKey, logger: SimulatorRig.logger)
        let fixture = FixtureTransport()
        let manager = SubscriptionManager(
            store: store, catalog: catalog, clients: UpstreamClients(transport: fixture, clock: .system, maxAttempts: 1), clock: .system,
            publicBaseURL: "https://hooks.example.test/", poll: { _ in }
        )
        let logger = SimulatorRig.logger
        /// Subscribes, naming what the fixture did not expect when it fails.
        func subscribe(_ connection: Connection) async throws -> Subscription {
            do { return try await manager.subscribe(connection, logger: logger) } catch {
                throw OperationError.failure("\(error); fixture: \(fixture.mismatches)")
            }
        }
        func json(_ status: Int, _ text: String) -> UpstreamResponse {
            UpstreamResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(text.utf8))
        }

        // Stripe (docs.stripe.com/api/webhook_endpoints/create): a form; the answer holds the whsec_ secret.
        _ = try await store.addConnection(id: "acme-stripe", provider: "stripe", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
        try await store.setAPICredentials(connection: "acme-stripe", token: "sk_test_key", baseURL: nil, now: 0)
        fixture.expect(
            .init(
                "https://api.stripe.com/v1/webhook_endpoints", method: "POST",
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Authorization", "Bearer sk_test_key")],
                body: "url=https%3A%2F%2Fhooks.example.test%2Fwebhooks%2Fstripe%2Facme-stripe&enabled_events[]=*&description=Tributary"
            ),
            respond: json(200, #"{"id":"we_1Mr5jULkdIwHu7ix1ibLTM0x","object":"webhook_endpoint","enabled_events":["*"],"secret":"whsec_wRNftLajMZNeslQOP6vEPm4iVx5NlZ6z","status":"enabled","url":"https://hooks.example.test/webhooks/stripe/acme-stripe"}"#)
        )
        let stripe = try #require(try await store.connection(id: "acme-stripe"))
        let endpoint = try await subscribe(stripe)
        #expect(endpoint.subscriptionId == "we_1Mr5jULkdIwHu7ix1ibLTM0x" && endpoint.expiresAt == nil)
        #expect(try await store.connection(id: "acme-stripe")?.webhookSecrets == ["whsec_wRNftLajMZNeslQOP6vEPm4iVx5NlZ6z"])
        fixture.expect(.init("https://api.stripe.com/v1/webhook_endpoints/we_1Mr5jULkdIwHu7ix1ibLTM0x", method: "DELETE"), respond: json(200, #"{"id":"we_1Mr5jULkdIwHu7ix1ibLTM0x","deleted":true}"#))
        try await manager.unsubscribe(stripe, logger: logger)

        // Zendesk: JSON, then the secret on GET …/signing_secret.
        _ = try await store.addConnection(id: "acme-zd", provider: "zendesk", tenant: "acme", account: "acme", toleranceSeconds: nil, webhookSecrets: [], now: 0)
        try await store.setAPICredentials(connection: "acme-zd", token: "ops@acme.test/token:zd-api-token", baseURL: nil, now: 0)
        let zendesk = try #require(try await store.connection(id: "acme-zd"))
        let events = ["created", "status_changed", "priority_changed", "subject_changed", "comment_added", "tags_changed", "custom_field_changed", "agent_assignment_changed", "soft_deleted", "permanently_deleted"]
        let webhook = #"{"webhook":{"name":"Tributary","endpoint":"https://hooks.example.test/webhooks/zendesk/acme-zd","http_method":"POST","request_format":"json","status":"active","subscriptions":["#
            + events.map { #""zen:event-type:ticket.\#($0)""# }.joined(separator: ",") + "]}}"
        let created = #"{"webhook":{"id":"01GFXH4HRQ6CCG1E3MSBP3CTM9","name":"Tributary","status":"active","endpoint":"https://hooks.example.test/webhooks/zendesk/acme-zd"}}"#
        fixture.expect(.init("https://acme.zendesk.com/api/v2/webhooks", method: "POST", jsonBody: webhook), respond: json(201, created))
        fixture.expect(
            .init("https://acme.zendesk.com/api/v2/webhooks/01GFXH4HRQ6CCG1E3MSBP3CTM9/signing_secret"),
            respond: json(200, #"{"signing_secret":{"algorithm":"SHA256","secret":"dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="}}"#)
        )
        let made = try await subscribe(zendesk)
        #expect(made.subscriptionId == "01GFXH4HRQ6CCG1E3MSBP3CTM9")
        #expect(try await store.connection(id: "acme-zd")?.webhookSecrets == ["dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="])

        // The secret cannot be read: the webhook is deleted again (its deliveries could never verify),
        // nothing is recorded as made, and the operator hears why.
        _ = try await store.addConnection(id: "globex-zd", provider: "zendesk", tenant: "globex", account: "globex", toleranceSeconds: nil, webhookSecrets: [], now: 0)
        try await store.setAPICredentials(connection: "globex-zd", token: "ops@globex.test/token:zd-api-token", baseURL: nil, now: 0)
        fixture.expect(.init("https://globex.zendesk.com/api/v2/webhooks", method: "POST", jsonBody: webhook.replacingOccurrences(of: "acme-zd", with: "globex-zd")), respond: json(201, #"{"webhook":{"id":"01H0000000000000000000GLBX"}}"#))
        fixture.expect(.init("https://globex.zendesk.com/api/v2/webhooks/01H0000000000000000000GLBX/signing_secret"), respond: json(403, #"{"error":"Forbidden"}"#))
        fixture.expect(.init("https://globex.zendesk.com/api/v2/webhooks/01H0000000000000000000GLBX", method: "DELETE"), respond: UpstreamResponse(status: 204, headers: [], body: []))
        do {
            _ = try await manager.subscribe(try #require(try await store.connection(id: "globex-zd")), logger: logger)
            Issue.record("a subscription whose secret could not be read was made")
        } catch {
            #expect("\(error)".contains("HTTP 403 to reading the secret of subscription 01H0000000000000000000GLBX"), "\(error)")
        }
        #expect(try await store.subscription(connection: "globex-zd") == nil)
        #expect(fixture.mismatches.isEmpty, "\(fixture.mismatches)")
        #expect(fixture.unanswered == 0)
    }

    @Test("a Graph lifecycle notice is acted on, not stored as an event; a forged one is 401")
    func graphLifecycleNotice() async throws {
        let directory = try TestPaths.temporaryDirectory("subscriptions-graph")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Engine(configuration: TestEngine.configuration(directory: directory))
        let state = "graph-client-state-0123456789"
        _ = try await engine.store.addConnection(id: "m1", provider: "microsoft-graph", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [state], now: 0)
        try await engine.store.saveSubscription(connection: "m1", id: "7f105c7d", expiresAt: 10_000_000, renewed: false, now: 0)
        @Sendable func notice(_ event: String, _ clientState: String, subscription: String = "7f105c7d") -> String {
            #"{"value":[{"subscriptionId":"\#(subscription)","subscriptionExpirationDateTime":"2026-12-09T11:00:00Z","tenantId":"t1","clientState":"\#(clientState)","lifecycleEvent":"\#(event)"}]}"#
        }
        try await TestEngine.live(engine) { client in
            let forged = try await client.send("/webhooks/microsoft-graph/m1", headers: ["Content-Type": "application/json"], body: notice("subscriptionRemoved", "wrong"))
            #expect(forged.status == .unauthorized)
            // About a subscription already replaced (a recreate deleted it, and Graph says so): ignored,
            // or every recreate would ask for the next one.
            let stale = try await client.send("/webhooks/microsoft-graph/m1", headers: ["Content-Type": "application/json"], body: notice("subscriptionRemoved", state, subscription: "old-one"))
            #expect(stale.status == .ok)
            #expect(try await engine.store.subscription(connection: "m1")?.action == nil, "a notice about another subscription set an action")
            let rows: [(String, Subscription.Action)] = [("missed", .poll), ("reauthorizationRequired", .renew), ("subscriptionRemoved", .recreate), ("missed", .recreate)]
            for (event, after) in rows {
                let answer = try await client.send("/webhooks/microsoft-graph/m1", headers: ["Content-Type": "application/json"], body: notice(event, state))
                #expect(answer.status == .ok, "\(event): \(answer.status)")
                #expect(try await engine.store.subscription(connection: "m1")?.action == after, "\(event): a weaker notice must not replace a stronger pending action")
            }
        }
        #expect(try await engine.store.events(EventFilter(connection: "m1")).isEmpty, "lifecycle notices are not record events")
    }

    @Test("Graph's seven-digit expiry is read")
    func graphExpiry() {
        #expect(Timestamp.microseconds(rfc3339: "2016-11-20T18:23:45.9356913Z") == Timestamp.microseconds(rfc3339: "2016-11-20T18:23:45.935691Z"))
    }
}
