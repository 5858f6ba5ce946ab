import Foundation
public import Logging
public import ProviderSimulator
public import TributaryRuntime
import TributaryStore

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
    public static func run<T: Sendable>(
        engine configuration: EngineConfiguration, logger: Logger,
        simulator adjust: @escaping @Sendable (inout SimulatorConfiguration) -> Void,
        _ body: @escaping @Sendable (Engine, ProviderSimulator) async throws -> T
    ) async throws -> T {
        let engine = try Engine(configuration: configuration)
        _ = try await engine.store.addConnection(id: "sim1", provider: "simulator", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [secret], now: 0)
        let (enginePorts, enginePort) = AsyncStream.makeStream(of: Int.self)
        return try await RunningServices.run([engine.application { enginePort.yield($0) }], ports: enginePorts, logger: logger) { tributaryPort in
            var sim = SimulatorConfiguration()
            sim.port = 0
            sim.chaos.rateLimitFraction = 0.1
            sim.rateLimit = .init(requestsPerSecond: 200, burst: 20)
            sim.webhooks = WebhookConfiguration(
                url: "http://127.0.0.1:\(tributaryPort)/webhooks/simulator/sim1", secret: secret, dropRate: 0.2, duplicateRate: 0.2, reorderWindow: 50
            )
            adjust(&sim)
            let simulator = try ProviderSimulator(configuration: sim, logger: logger)
            let token = sim.tokens[0]
            let (simPorts, simPort) = AsyncStream.makeStream(of: Int.self)
            return try await RunningServices.run([simulator.application { simPort.yield($0) }], ports: simPorts, logger: logger) { port in
                try await engine.store.setAPICredentials(connection: "sim1", token: token, baseURL: "http://127.0.0.1:\(port)", now: 0)
                return try await body(engine, simulator)
            }
        }
    }
}
