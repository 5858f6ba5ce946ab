import Foundation
import Logging
import ProviderSimulator
import TributaryCore
import TributaryPolling
import TributaryProviders
import TributaryReconcile
import TributaryStore

/// Where `tributary demo` stands, once a second.
public struct DemoProgress: Sendable {
    public enum Phase: String, Sendable {
        /// The provider is changing records; webhooks and polls carry the changes in.
        case changing
        /// The changes stopped; the last webhooks, a poll, a full sweep and the reconciler settle the mirror.
        case settling
    }

    public var phase: Phase
    public var seconds: Int
    /// Records the provider created, updated or deleted.
    public var providerChanges: Int
    public var webhooksSent: Int
    public var webhooksDropped: Int
    public var webhooksDuplicated: Int
    /// 429s the provider answered (its chaos included).
    public var throttled: Int
    /// Events in the log (webhook deliveries and polled observations).
    public var eventsIn: Int
    /// Events the reconciler settled (applied, superseded or found unchanged).
    public var settled: Int
    public var pending: Int
    /// Age of the oldest pending event, in seconds (0 when none waits).
    public var lagSeconds: Double
    /// Records where the mirror differs from the provider right now.
    public var mismatches: Int
}

/// How `tributary demo` ended.
public struct DemoResult: Sendable {
    public var database: String
    public var records: Int
    public var mismatches: [String]
    public var connection: String
}

/// `tributary demo`: the simulated provider under chaos (webhooks dropped, duplicated and reordered,
/// 429s, deletions), its webhooks wired to a real engine on a new database, until the mirror
/// converges. Nothing to configure; the database is left for the user to query.
public enum Demo {
    /// - Parameters:
    ///   - duration: how long the provider keeps changing records.
    ///   - directory: where the database is created (it must not hold one already).
    ///   - progress: called about once a second.
    /// - Throws: ``OperationError`` when the simulator's manifest is missing or the database cannot be made.
    public static func run(
        duration: Duration, directory: String, providersDirectory: String, seed: UInt64,
        progress: @escaping @Sendable (DemoProgress) -> Void
    ) async throws -> DemoResult {
        // Its own progress line says what happens; the engine speaks only of errors, unless LOG_LEVEL asks.
        let logger = {
            var logger = EngineConfiguration.defaultLogger()
            if ProcessInfo.processInfo.environment["LOG_LEVEL"] == nil { logger.logLevel = .error }
            return logger
        }()
        let database = (directory as NSString).appendingPathComponent("demo.db")
        var configuration = EngineConfiguration(host: "127.0.0.1", port: 0, databasePath: database, providersDirectory: providersDirectory, logger: logger)
        configuration.allowPrivateUpstreams = true  // the simulator listens on loopback
        configuration.polling = false  // polled here, so that the last poll is known to have run
        configuration.pollTick = .milliseconds(200)
        let engine = try Engine.open(configuration)
        guard engine.catalog.providers["simulator"] != nil else {
            throw OperationError.usage("the demo needs the simulator's manifest, simulator.yaml, in \(providersDirectory) (--providers or TRIBUTARY_PROVIDERS)")
        }
        let connection = "sim1"
        let secret = "whsec_" + Data((0..<24).map { _ in UInt8.random(in: .min ... .max) }).base64EncodedString()
        _ = try await engine.store.addConnection(
            id: connection, provider: "simulator", tenant: "demo", account: nil, toleranceSeconds: nil, webhookSecrets: [secret], now: engine.configuration.now()
        )
        let (enginePorts, enginePort) = AsyncStream.makeStream(of: Int.self)
        return try await RunningServices.run([engine.application { enginePort.yield($0) }], ports: enginePorts, logger: logger) { tributaryPort in
            var sim = SimulatorConfiguration()
            sim.port = 0
            sim.seed = seed
            sim.initialRecordsPerType = 50
            sim.chaos.rateLimitFraction = 0.1
            sim.rateLimit = .init(requestsPerSecond: 200, burst: 20)
            sim.webhooks = WebhookConfiguration(
                url: "http://127.0.0.1:\(tributaryPort)/webhooks/simulator/\(connection)", secret: secret, dropRate: 0.2, duplicateRate: 0.2, reorderWindow: 50
            )
            let (simulator, token) = (try ProviderSimulator(configuration: sim, logger: logger), sim.tokens[0])
            let (simPorts, simPort) = AsyncStream.makeStream(of: Int.self)
            return try await RunningServices.run([simulator.application { simPort.yield($0) }], ports: simPorts, logger: logger) { port in
                try await engine.store.setAPICredentials(connection: connection, token: token, baseURL: "http://127.0.0.1:\(port)", now: engine.configuration.now())
                return try await drive(engine: engine, simulator: simulator, connection: connection, duration: duration, logger: logger, progress: progress)
            }
        }
    }

    /// Changes records for `duration` while polling each second, then settles: the last webhooks,
    /// a poll, the reconciler, a full sweep and the reconciler again, round after round until the
    /// mirror matches (or a minute has passed).
    static func drive(
        engine: Engine, simulator: ProviderSimulator, connection: String, duration: Duration, logger: Logger,
        progress: @escaping @Sendable (DemoProgress) -> Void
    ) async throws -> DemoResult {
        let start = ContinuousClock.now
        func report(_ phase: DemoProgress.Phase) async throws -> Int {
            let counters = simulator.counters()
            let events = try await engine.store.eventCounts(connection: connection)
            let oldest = try await engine.store.events(EventFilter(connection: connection, status: .pending, limit: 1)).first?.receivedAt
            let mirror = try await engine.store.records(connection: connection, limit: 1_000_000)
            let mismatches = MirrorComparison.mismatches(mirror, simulator.records()).count
            progress(DemoProgress(
                phase: phase, seconds: Int((ContinuousClock.now - start).components.seconds), providerChanges: counters.changes,
                webhooksSent: counters.webhooksSent, webhooksDropped: counters.webhooksDropped, webhooksDuplicated: counters.webhooksDuplicated,
                throttled: counters.rateLimited, eventsIn: events.values.reduce(0, +),
                settled: (events[.applied] ?? 0) + (events[.superseded] ?? 0), pending: events[.pending] ?? 0,
                lagSeconds: oldest.map { max(0, Double(engine.configuration.now() - $0) / 1e6) } ?? 0, mismatches: mismatches
            ))
            return mismatches
        }
        try simulator.startMutations(rate: 40)
        while ContinuousClock.now - start < duration {
            _ = try await engine.pollRunner.runDue(force: true, logger: logger)
            _ = try await report(.changing)
            try await Task.sleep(for: .seconds(1))
        }
        simulator.stopMutations()
        let settleBy = ContinuousClock.now + .seconds(60)
        var remaining = Int.max
        while true {
            _ = await simulator.webhookEmitter?.deliverPending()
            _ = try await engine.pollRunner.runDue(force: true, logger: logger)
            _ = try await engine.reconciler.runOnce(untilSettled: true, logger: logger)
            // A full sweep finds what neither a dropped webhook nor a list that omits deletions told. It
            // does not suspect a record written while it ran (a late webhook), so it runs again while
            // the mirror still differs.
            if remaining > 0 {
                _ = try await engine.sweepRunner.runDue(force: true, logger: logger)
                _ = try await engine.reconciler.runOnce(untilSettled: true, logger: logger)
            }
            remaining = try await report(.settling)
            if remaining == 0 || ContinuousClock.now > settleBy { break }
            try await Task.sleep(for: .seconds(1))
        }
        let mirror = try await engine.store.records(connection: connection, limit: 1_000_000)
        return DemoResult(
            database: engine.configuration.databasePath, records: mirror.count,
            mismatches: MirrorComparison.mismatches(mirror, simulator.records()), connection: connection
        )
    }
}
