public import Foundation
import TributaryTesting
public import HummingbirdTesting
import Logging
public import TributaryIntake
public import TributaryRuntime

/// Builds the engine exactly as `serve` does, on a temp SQLite file, and runs it live on 127.0.0.1.
public enum TestEngine {
    /// The public base URL the vectors were signed for.
    public static let publicURL = "https://hooks.example.test"

    /// The `/v1` admin token every test engine is configured with.
    public static let adminToken = "test-admin-token-0123456789abcdef"

    /// A configuration on a fresh temp database with the repository's manifests.
    /// - Parameter now: the engine clock, in microseconds since the epoch.
    public static func configuration(
        directory: URL, now: Int64? = nil, intake: IntakeConfiguration = IntakeConfiguration(publicBaseURL: publicURL)
    ) -> EngineConfiguration {
        var logger = Logger(label: "tributary-test")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        var configuration = EngineConfiguration(
            host: "127.0.0.1", port: 0, databasePath: directory.appendingPathComponent("tributary.db").path,
            providersDirectory: TestPaths.providers,
            masterKey: TestSecrets.masterKey, adminToken: adminToken,
            intake: intake, idleTimeoutSeconds: 30, logger: logger
        )
        if let now { configuration.now = { now } }
        // Intake tests look at events as intake stored them; tests of the workers turn these on.
        configuration.polling = false
        configuration.reconciling = false
        // The simulator listens on loopback.
        configuration.allowPrivateUpstreams = true
        return configuration
    }

    /// Runs `body` against a live server for `engine`, then shuts the server down.
    public static func live<Value: Sendable>(
        _ engine: Engine, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Value
    ) async throws -> Value {
        try await engine.application().test(.live) { client in try await body(client) }
    }
}
