public import Foundation
public import Logging
public import ProviderSimulator
import TributaryRuntime
public import TributaryCore
public import TributaryStore
import TributaryTesting

/// The set-up the polling, sweep, convergence and crash tests share: the provider simulator live
/// on 127.0.0.1, a store with one connection (`sim1`) pointed at it, and the checks of what the
/// log and the mirror hold against the simulator's truth.
public enum SimulatorRig {
    /// A logger that stays quiet unless `LOG_LEVEL` says otherwise.
    public static var logger: Logger {
        var logger = Logger(label: "tributary-test")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }

    /// Runs `simulator` live on 127.0.0.1 while `body` runs, handing it the port.
    public static func withSimulator<T: Sendable>(_ simulator: ProviderSimulator, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> T {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        return try await RunningServices.run([simulator.application { continuation.yield($0) }], ports: ports, logger: logger, body)
    }

    /// A store at `directory/poll.db` with connection `sim1` (provider `simulator`, tenant `acme`)
    /// calling the simulator at `port` with `token`.
    public static func store(_ directory: URL, port: Int, token: String) async throws -> Store {
        let store = try Store(path: directory.appendingPathComponent("poll.db").path, masterKey: TestSecrets.masterKey, logger: logger)
        _ = try await store.addConnection(id: "sim1", provider: "simulator", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [], now: 0)
        try await store.setAPICredentials(connection: "sim1", token: token, baseURL: "http://127.0.0.1:\(port)", now: 0)
        return store
    }

    /// Records whose latest version is not in the log, as `poll:<type>:<id>:<version>`.
    public static func missing(_ simulator: ProviderSimulator, store: Store) async throws -> [String] {
        let ids = Set(try await store.events(EventFilter(limit: 10_000_000)).map(\.eventId))
        return simulator.records().map { "poll:\($0.type):\($0.id):\($0.version)" }.filter { !ids.contains($0) }
    }

    /// Every way `mirror` differs from the provider's `truth` (see ``MirrorComparison``).
    public static func mismatches(_ mirror: [MirrorRecord], _ truth: [SimulatorRecord], hardDeletes: Bool = false) -> [String] {
        MirrorComparison.mismatches(mirror, truth, hardDeletes: hardDeletes)
    }
}
