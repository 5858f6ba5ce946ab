import Foundation
public import TributaryCore
public import Hummingbird
import HummingbirdTLS
import TributaryTelemetry
import HummingbirdCore
import NIOSSL
import Logging
import ServiceLifecycle
import NIOCore
import TributaryAPI
import TributaryIntake
public import TributaryPolling
public import TributaryReconcile
public import TributaryProviders
public import TributaryStore
public import TributaryDelivery
public import TributaryUpstream

/// The composition root: one Hummingbird application holding intake, the `/v1` API and the health routes.
///
/// `tributary serve` and the tests build the engine through this same function,
/// so what the tests exercise is what runs in production.
public struct Engine: Sendable {
    public let store: Store
    public let catalog: ManifestCatalog
    public let configuration: EngineConfiguration
    /// The process's provider API clients: one rate limiter per connection, shared by polls, sweeps and fetches.
    public let clients: UpstreamClients
    /// Every call to a provider goes through it (behind the outbound guard).
    let transport: HTTPTransport
    /// Each connection's webhook subscription at its provider; `serve` renews them.
    public let subscriptions: SubscriptionManager
    /// OAuth connections' access tokens, renewed once for every poller, fetch and process that needs them.
    public let tokens: OAuthTokens
    /// Sends the outbox to the destinations; `serve` ticks it.
    public let deliveries: DeliveryWorker
    /// Runs due polls; `serve` ticks it, `tributary poll` calls it once.
    public let pollRunner: PollRunner
    /// Runs due sweeps; `serve` ticks it, `tributary reconcile --full` calls it once.
    public let sweepRunner: SweepRunner
    /// Applies the log to the mirror; `serve` ticks it, `tributary reconcile` calls it once.
    public let reconciler: Reconciler
    /// What every part records, exported at `GET /metrics`.
    public let metrics: ServiceMetrics
    /// Notices webhooks gone silent while polls find changes; `serve` ticks it with the polls.
    public let webhookWatch: WebhookWatch
    /// The dashboard's sessions and one-time login links.
    let dashboardSessions: DashboardSessions

    /// Opens the store and loads the manifests; fails with one clear error before anything listens.
    public init(configuration: EngineConfiguration) throws {
        self.configuration = configuration
        catalog = try ManifestCatalog.loadValid(directory: configuration.providersDirectory)
        for (id, errors) in catalog.invalid.sorted(by: { $0.key < $1.key }) {
            configuration.logger.error("provider \(id) is unavailable: its manifest is invalid (its webhooks are answered 503 and its events wait until it is fixed and the service restarted):\n\(errors)")
        }
        store = try Store(
            path: configuration.databasePath, masterKey: configuration.masterKey, options: configuration.store, logger: configuration.logger
        )
        let metrics = ServiceMetrics(perConnection: configuration.metricsPerConnection)
        self.metrics = metrics
        store.observeGroupCommits { rows in metrics.telemetry.observe(.groupCommitBatchSize, Double(rows)) }
        // A one-shot command (it has a --max-wait) hears at once that a connection cannot be made.
        let transport = HTTPTransport(outboundGuard: OutboundGuard(allowPrivate: configuration.allowPrivateUpstreams), failFast: configuration.maxWait != nil)
        self.transport = transport
        tokens = OAuthTokens(store: store, transport: transport, clock: configuration.clock, logger: configuration.logger)
        clients = UpstreamClients(
            transport: transport, clock: configuration.clock, maxWait: configuration.maxWait, accessTokens: tokens, telemetry: metrics.telemetry
        )
        pollRunner = PollRunner(store: store, catalog: catalog, transport: transport, clients: clients, clock: configuration.clock)
        sweepRunner = SweepRunner(store: store, catalog: catalog, clients: clients, holder: pollRunner.holder, now: configuration.now)
        reconciler = Reconciler(store: store, catalog: catalog, clients: clients, now: configuration.now)
        dashboardSessions = DashboardSessions(now: configuration.now)
        webhookWatch = WebhookWatch(
            store: store, runner: pollRunner, window: configuration.webhookSilenceWindow, now: configuration.now, telemetry: metrics.telemetry
        )
        // Deliveries go where provider calls may (the same guard and setting), follow no redirect, and
        // keep only the start of a receiver's answer.
        deliveries = DeliveryWorker(
            store: store,
            transport: HTTPTransport(
                outboundGuard: OutboundGuard(allowPrivate: configuration.allowPrivateUpstreams), timeoutSeconds: 15, maxBodyBytes: Delivery.keptResponseBytes,
                truncateBodies: true
            ),
            clock: configuration.clock, schedule: configuration.deliverySchedule, disableAfter: configuration.destinationDisableAfter,
            retention: configuration.deliveryRetention, telemetry: metrics.telemetry
        )
        let pollRunner = self.pollRunner
        let logger = configuration.logger
        subscriptions = SubscriptionManager(
            store: store, catalog: catalog, clients: clients, clock: configuration.clock, publicBaseURL: configuration.intake.publicBaseURL,
            poll: { connection in _ = try? await pollRunner.runDue(force: true, connection: connection, logger: logger) }
        )
    }

    /// The engine for an operator's command: an unreadable providers directory is the command's fault (`.usage`), a database that cannot open is the system's (`.failure`).
    /// An invalid manifest only makes its own provider unavailable (see ``ManifestCatalog/invalid``).
    public static func open(_ configuration: EngineConfiguration) throws(OperationError) -> Engine {
        do {
            return try Engine(configuration: configuration)
        } catch is ManifestErrors {
            throw .usage("cannot read the providers directory \(configuration.providersDirectory) (--providers or TRIBUTARY_PROVIDERS)")
        } catch let error as StoreError {
            throw .failure(error.message)
        } catch {
            throw .failure("\(error)")
        }
    }

    /// Refuses an unknown connection id the way every command does: `.failure("no connection X")`.
    /// - Returns: the connection, when `id` names one (`nil` when no id was given).
    @discardableResult
    public func requireConnection(_ id: String?) async throws(OperationError) -> Connection? {
        guard let id else { return nil }
        let found: Connection?
        do { found = try await store.connection(id: id) } catch { throw .failure(error.message) }
        guard let found else { throw .failure("no connection \(id)") }
        return found
    }

    /// Removes a connection, first undoing what was made at the provider on its behalf: its webhook
    /// subscription is deleted there (or the provider would keep delivering to a URL that now answers
    /// 404) and its OAuth grant revoked (RFC 7009), where the manifest says how. What the provider
    /// refuses is reported, not fatal: the removal the operator asked for still happens.
    /// - Returns: the removal, and one sentence per thing done or not done at the provider.
    public func removeConnection(id: String, purge: Bool) async throws(OperationError) -> (removal: ConnectionRemoval, notes: [String]) {
        do {
            try await store.checkRemovable(id: id, purge: purge)
        } catch {
            throw error.code == .conflict ? .usage(error.message) : .failure(error.message)
        }
        let connection = try await requireConnection(id)!
        var notes: [String] = []
        let logger = configuration.logger
        if let subscription = try? await store.subscription(connection: id), subscription.state != .removed,
           let subscriptionID = subscription.subscriptionId, catalog.providers[connection.provider]?.manifest.subscriptions != nil {
            do {
                try await subscriptions.unsubscribe(connection, logger: logger)
                notes.append("deleted its subscription \(subscriptionID) at \(connection.provider)")
            } catch {
                notes.append("its subscription \(subscriptionID) at \(connection.provider) was not deleted (\(error)); delete it there by hand")
            }
        }
        if let manifestAPI = catalog.providers[connection.provider]?.manifest.api, let credentials = try? await store.apiCredentials(connection: id) {
            let api = manifestAPI.resolved(for: connection, hasToken: credentials.token != nil)
            if api.auth.style == .oauth2 {
                let baseURL = credentials.baseURL ?? UpstreamClient.fill(api.baseURL, account: connection.account)
                if let said = await tokens.revoke(connection, api: api, baseURL: baseURL) { notes.append(said) }
            }
        }
        do {
            return (try await store.removeConnection(id: id, purge: purge), notes)
        } catch {
            throw error.code == .conflict ? .usage(error.message) : .failure(error.message)
        }
    }

    /// Makes sure `/v1` has an admin token before the service listens (see ``EngineConfiguration/adminToken``).
    ///
    /// - Returns: a token generated by this call, which the caller must show once (it is not kept);
    ///   `nil` when the token is configured or was generated by an earlier start.
    public func prepareAdminToken() async throws(StoreError) -> String? {
        try await AdminToken.prepare(store: store, configured: configuration.adminToken)
    }

    /// Runs the due polls once (every selected resource with `force`): `tributary poll`.
    /// - Returns: each run's report; a run whose provider kept failing past ``EngineConfiguration/maxWait``
    ///   reports that cause as its error.
    /// - Throws: ``OperationError`` for an unknown connection, a connection or resource with nothing to
    ///   poll, or a store failure.
    public func poll(force: Bool, connection: String?, resource: String?) async throws(OperationError) -> [PollReport] {
        let found = try await requireConnection(connection)
        let reports = try await asOperation { [pollRunner, configuration] in
            try await pollRunner.runDue(force: force, connection: connection, resource: resource, logger: configuration.logger)
        }
        if reports.isEmpty, connection == nil, let resource {
            throw .usage("no connection polls a resource named \(resource) (see `tributary status`)")
        }
        if reports.isEmpty, let connection {
            if let id = found?.provider, let errors = catalog.invalid[id] {
                throw .usage("connection \(connection)'s provider \(id) has an invalid manifest, so it is not polled until it is fixed:\n\(errors)")
            }
            let provider = found.flatMap { catalog.providers[$0.provider] }
            if let resource {
                guard provider?.pollResources.contains(where: { $0.name == resource }) == true else {
                    throw .usage("\(found?.provider ?? "its provider") has no polled resource \(resource) (see `tributary providers list`)")
                }
            }
            if provider?.pollResources.isEmpty != false {
                throw .usage("connection \(connection)'s provider \(found?.provider ?? "?") has no polled resources: its changes arrive by webhook only")
            }
            throw .usage("connection \(connection) has no API token or base URL, so nothing is polled (give them with `connections add --api-token`/`--api-base-url`)")
        }
        return reports
    }

    /// One reconcile pass, repeated while fetches settle something: `tributary reconcile`. With
    /// `full`, every sweepable resource is swept first, and each sweep is read again after the pass,
    /// whose fetches confirmed its suspected deletions.
    public func reconcile(full: Bool, connection: String?) async throws(OperationError) -> (report: ReconcileReport, sweeps: [SweepRun]) {
        try await requireConnection(connection)
        let (logger, store, sweepRunner, reconciler) = (configuration.logger, store, sweepRunner, reconciler)
        return try await asOperation { () async throws -> (report: ReconcileReport, sweeps: [SweepRun]) in
            let swept = full ? try await sweepRunner.runDue(force: true, connection: connection, logger: logger) : []
            let report = try await reconciler.runOnce(connection: connection, untilSettled: true, logger: logger)
            var sweeps: [SweepRun] = []
            for var run in swept {
                if let generation = run.outcome.sweep?.generation, let now = try await store.sweep(generation: generation) {
                    run.outcome = .ended(now)
                }
                sweeps.append(run)
            }
            return (report, sweeps)
        }
    }

    /// The poll runs under way that have committed at least one page (a backfill, a long catch-up),
    /// as the store holds them: what `poll` shows as progress on a terminal. Empty when unreadable.
    public func runsInProgress() async -> [PollState] {
        ((try? await store.pollStates()) ?? []).filter { $0.cursor.run != nil }
    }

    /// The cause of the latest failed provider request of this engine (what a command reports when it gives up).
    public var lastProviderError: String? { clients.lastFailure }

    /// Runs `body`, its errors said as an operation's: each provider request already gives up within
    /// ``EngineConfiguration/maxWait`` of its first attempt, naming its cause, and a run that keeps
    /// making progress is never cut short, however long a backfill takes.
    func asOperation<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws(OperationError) -> T {
        do {
            return try await body()
        } catch let error as OperationError {
            throw error
        } catch let error as StoreError {
            throw .failure(error.message)
        } catch {
            throw .failure("\(error)")
        }
    }

    /// The router with every route the service answers.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ServiceMetrics.IntakeMiddleware(telemetry: metrics.telemetry, providers: Set(catalog.providers.keys)))
        IntakeRoutes(store: store, catalog: catalog, configuration: configuration.intake, now: configuration.now, telemetry: metrics.telemetry).add(to: router)
        metrics.addRoute(to: router, store: store, token: configuration.metricsToken, now: configuration.now)
        let admin = Admin(store: store, providersDirectory: configuration.providersDirectory, now: configuration.now)
        let administration = EngineAdministration(
            admin: admin, allowPrivate: configuration.allowPrivateUpstreams, logger: configuration.logger, sessions: dashboardSessions
        )
        APIRoutes(store: store, adminToken: configuration.adminToken, administration: administration).add(to: router)
        Dashboard(
            admin: admin, store: store, authenticator: AdminAuthenticator(store: store, configuredToken: configuration.adminToken),
            sessions: dashboardSessions, secure: configuration.tls != nil, logger: configuration.logger
        ).add(to: router)
        OAuthFlow.addCallback(to: router, store: store, catalog: catalog, transport: transport, now: configuration.now)
        router.get("/healthz") { _, _ in Self.json(#"{"status":"ok"}"#) }
        router.get("/readyz") { _, _ in
            await store.isWritable(now: configuration.now())
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
            services.append(PollScheduler.service(runner: pollRunner, tick: configuration.pollTick, clock: configuration.clock, logger: configuration.logger, finished: configuration.pollFinished))
            services.append(sweepRunner.service(clock: configuration.clock, logger: configuration.logger))
            services.append(subscriptions.service(logger: configuration.logger))
            services.append(webhookWatch.service(clock: configuration.clock, logger: configuration.logger))
        }
        if configuration.reconciling {
            services.append(ReconcileService.service(reconciler: reconciler, tick: configuration.pollTick, clock: configuration.clock, logger: configuration.logger))
            if configuration.delivering { services.append(deliveries.service(tick: configuration.deliveryTick, logger: configuration.logger)) }
        }
        let http1 = HTTP1Channel.Configuration(idleTimeout: .seconds(idleTimeoutSeconds))
        return Application(
            router: router(),
            server: configuration.tls.map { tls in HTTPServerBuilder.https(http1, tls) } ?? .http1(configuration: http1),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "tributary"),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: configuration.logger
        )
    }

    /// Runs the service until SIGTERM or SIGINT (graceful shutdown). `onServerRunning` receives the bound port.
    /// - Throws: ``OperationError`` naming the address and the cause when it cannot be bound.
    public func run(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        do {
            try await application(onServerRunning: onServerRunning).runService()
        } catch let error as IOError {
            throw OperationError.failure(ListenAddress.sentence(configuration.host, configuration.port, error.errnoCode))
        } catch is SocketAddressError {
            throw OperationError.usage("--host \(configuration.host) is not an address or a name this machine can resolve")
        }
    }

    static func json(_ text: String) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(text)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 behind TLS, as HummingbirdTLS's `.tls(.http1(…), tlsConfiguration:)` builds it, without
    /// its `throws` (it only returns a builder): what can fail, reading the certificate and the key
    /// and their match, was checked when the configuration was resolved; a TLS handler that cannot
    /// be made fails that one connection.
    static func https(_ configuration: HTTP1Channel.Configuration, _ tls: TLSConfiguration) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            try TLSChannel(HTTP1Channel(responder: responder, configuration: configuration), tlsConfiguration: tls)
        }
    }
}
