import Foundation
public import Logging
public import ProviderSimulator
public import TributaryRuntime
import TributaryCore
import TributaryStore
import TributaryPolling

/// The engine and the provider simulator wired for the reconciler's acceptance chaos: the simulator's
/// webhooks are 20% dropped, 20% duplicated and reordered within a window of 50, and 10% of its API
/// answers are 429s (under a 200 requests/s, burst 20 limit). The convergence tests and the
/// reconcile benchmark both run on it.
public enum ChaosRig {
    /// The webhook secret of connection `sim1` (a Standard Webhooks `whsec_` key).
    public static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    /// Starts an engine from `configuration` with connection `sim1` (provider `simulator`), then a
    /// simulator delivering to it, points the connection's API at the simulator, and runs `body`.
    /// - Parameter adjust: changes to the simulator's configuration (seed, records, granularity…) on top of the chaos.
    /// - Parameter oauthTokenSeconds: when given, `sim1` is a `simulator-oauth` connection (the
    ///   configuration's providers directory must come from ``OAuthRig/providers(_:)``) of app `sim-app`,
    ///   authorized before the run, whose access tokens live this many seconds.
    /// - Parameter subscriptionSeconds: when given, the simulator delivers only to `sim1`'s webhook
    ///   subscription, which the rig makes before `body` runs through the engine's subscription code
    ///   (`connections subscribe`) and keeps renewing every 200 ms of the run, as `serve` does every
    ///   30 s; the simulator grants each subscription this many seconds at most.
    public static func run<T: Sendable>(
        engine configuration: EngineConfiguration, logger: Logger, oauthTokenSeconds: Int64? = nil, subscriptionSeconds: Int64? = nil,
        simulator adjust: @escaping @Sendable (inout SimulatorConfiguration) -> Void,
        _ body: @escaping @Sendable (Engine, ProviderSimulator) async throws -> T
    ) async throws -> T {
        let engine = try Engine(configuration: configuration)
        let provider = oauthTokenSeconds == nil ? "simulator" : "simulator-oauth"
        if oauthTokenSeconds != nil {
            _ = try await engine.store.addApp(
                id: "sim-app", provider: provider, credentials: AppCredentials(clientID: OAuthRig.client.id, clientSecret: OAuthRig.client.secret), now: 0
            )
        }
        _ = try await engine.store.addConnection(
            id: "sim1", provider: provider, tenant: "acme", account: oauthTokenSeconds == nil ? nil : "a1", app: oauthTokenSeconds == nil ? nil : "sim-app",
            toleranceSeconds: nil, webhookSecrets: [secret], now: 0
        )
        let (enginePorts, enginePort) = AsyncStream.makeStream(of: Int.self)
        return try await RunningServices.run([engine.application { enginePort.yield($0) }], ports: enginePorts, logger: logger) { tributaryPort in
            var sim = SimulatorConfiguration()
            sim.port = 0
            sim.chaos.rateLimitFraction = 0.1
            sim.rateLimit = .init(requestsPerSecond: 200, burst: 20)
            sim.webhooks = WebhookConfiguration(
                url: "http://127.0.0.1:\(tributaryPort)/webhooks/\(provider)/sim1", secret: secret, dropRate: 0.2, duplicateRate: 0.2, reorderWindow: 50
            )
            if let oauthTokenSeconds {
                sim.oauth = SimulatorOAuthConfiguration(clients: [OAuthRig.client.id: OAuthRig.client.secret], accessTokenSeconds: oauthTokenSeconds)
            }
            if let subscriptionSeconds {
                sim.webhooks?.toSubscriptions = true
                sim.subscriptionMaxSeconds = subscriptionSeconds
            }
            adjust(&sim)
            let simulator = try ProviderSimulator(configuration: sim, logger: logger)
            let token = sim.tokens[0]
            let (simPorts, simPort) = AsyncStream.makeStream(of: Int.self)
            return try await RunningServices.run([simulator.application { simPort.yield($0) }], ports: simPorts, logger: logger) { port in
                try await engine.store.setAPICredentials(connection: "sim1", token: oauthTokenSeconds == nil ? token : nil, baseURL: "http://127.0.0.1:\(port)", now: 0)
                if let oauthTokenSeconds, let grant = simulator.issueGrant(client: OAuthRig.client.id) {
                    let now = configuration.now()
                    _ = try await engine.store.commitOAuthGrant(
                        connection: "sim1",
                        TokenGrant(accessToken: grant.accessToken, refreshToken: grant.refreshToken, expiresAt: now + oauthTokenSeconds * 1_000_000, scope: nil),
                        over: nil, now: now
                    )
                }
                guard subscriptionSeconds != nil else { return try await body(engine, simulator) }
                // The subscription delivers to this engine's real address.
                let subscriptions = SubscriptionManager(
                    store: engine.store, catalog: engine.catalog, clients: engine.clients, clock: configuration.clock,
                    publicBaseURL: "http://127.0.0.1:\(tributaryPort)",
                    poll: { connection in _ = try? await engine.pollRunner.runDue(force: true, connection: connection, logger: logger) }
                )
                let connection = try await engine.store.connection(id: "sim1")!
                _ = try await subscriptions.subscribe(connection, logger: logger)
                let renewing = Task {
                    while !Task.isCancelled {
                        _ = try? await subscriptions.runDue(logger: logger)
                        try? await Task.sleep(for: .milliseconds(200))
                    }
                }
                defer { renewing.cancel() }
                return try await body(engine, simulator)
            }
        }
    }
}
