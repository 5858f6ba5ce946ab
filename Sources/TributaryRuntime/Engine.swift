import Foundation
public import Hummingbird
import Logging
import ServiceLifecycle
import NIOCore
import TributaryIntake
public import TributaryPolling
public import TributaryReconcile
public import TributaryProviders
public import TributaryStore
import TributaryUpstream

/// The composition root: one Hummingbird application holding intake and the health routes.
///
/// `tributary serve` and the tests build the engine through this same function,
/// so what the tests exercise is what runs in production.
public struct Engine: Sendable {
    public let store: Store
    public let catalog: ManifestCatalog
    public let configuration: EngineConfiguration
    /// Runs due polls; `serve` ticks it, `tributary poll` calls it once.
    public let pollRunner: PollRunner
    /// Applies the log to the mirror; `serve` ticks it, `tributary reconcile` calls it once.
    public let reconciler: Reconciler

    /// Opens the store and loads the manifests; fails with one clear error before anything listens.
    public init(configuration: EngineConfiguration) throws {
        self.configuration = configuration
        catalog = try ManifestCatalog.load(directory: configuration.providersDirectory)
        store = try Store(
            path: configuration.databasePath, masterKey: configuration.masterKey, groupCommit: configuration.groupCommit,
            logger: configuration.logger
        )
        pollRunner = PollRunner(store: store, catalog: catalog, transport: HTTPTransport(), now: configuration.now)
        reconciler = Reconciler(store: store, catalog: catalog, clients: pollRunner.clients, now: configuration.now)
    }

    /// The router with every route the service answers.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        IntakeRoutes(store: store, catalog: catalog, configuration: configuration.intake, now: configuration.now).add(to: router)
        router.get("/healthz") { _, _ in Self.json(#"{"status":"ok"}"#) }
        router.get("/readyz") { _, _ in
            await store.isWritable()
                ? Self.json(#"{"status":"ready"}"#)
                : Response(status: .serviceUnavailable, headers: [.retryAfter: "5"])
        }
        return router
    }

    /// The application to run. `onServerRunning` receives the bound port (useful with port 0).
    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        // A connection that sends nothing for the body timeout is closed: that is what ends a stalled body.
        let bodyTimeoutSeconds = max(1, configuration.intake.bodyTimeout.components.seconds)
        let idleTimeoutSeconds = min(configuration.idleTimeoutSeconds, bodyTimeoutSeconds)
        var services: [any Service] = []
        if configuration.polling {
            services.append(PollScheduler.service(runner: pollRunner, tick: configuration.pollTick, logger: configuration.logger))
            services.append(PollScheduler.sweepService(runner: pollRunner, logger: configuration.logger))
        }
        if configuration.reconciling {
            services.append(ReconcileService.service(reconciler: reconciler, tick: configuration.pollTick, logger: configuration.logger))
        }
        return Application(
            router: router(),
            server: .http1(configuration: .init(idleTimeout: .seconds(idleTimeoutSeconds))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "tributary"),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: configuration.logger
        )
    }

    static func json(_ text: String) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(text)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }
}
