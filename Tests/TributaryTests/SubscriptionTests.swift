import Foundation
import HTTPTypes
import Logging
import ProviderSimulator
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryRuntime
import TributaryScheduling
import TributaryStore
import TributaryTesting

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

    @Test("a Graph lifecycle notice is acted on, not stored as an event; a forged one is 401")
    func graphLifecycleNotice() async throws {
        let directory = try TestPaths.temporaryDirectory("subscriptions-graph")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Engine(configuration: TestEngine.configuration(directory: directory))
        let state = "graph-client-state-0123456789"
        _ = try await engine.store.addConnection(id: "m1", provider: "microsoft-graph", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [state], now: 0)
        try await engine.store.saveSubscription(connection: "m1", id: "7f105c7d", expiresAt: 10_000_000, renewed: false, now: 0)
        @Sendable func notice(_ event: String, _ clientState: String) -> String {
            #"{"value":[{"subscriptionId":"7f105c7d","subscriptionExpirationDateTime":"2026-12-09T11:00:00Z","tenantId":"t1","clientState":"\#(clientState)","lifecycleEvent":"\#(event)"}]}"#
        }
        try await TestEngine.live(engine) { client in
            let forged = try await client.send("/webhooks/microsoft-graph/m1", headers: ["Content-Type": "application/json"], body: notice("subscriptionRemoved", "wrong"))
            #expect(forged.status == .unauthorized)
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
