import Foundation
public import Logging
public import TributaryIntake
public import TributaryStore
public import TributaryCore
public import TributaryScheduling
public import NIOSSL

/// Everything `tributary serve` (and a test) needs to assemble the engine.
///
/// - Configuration keys (CLI flag / environment, validated at start):
///   - `host` (`--host`, default `127.0.0.1`), `port` (`--port`, default 8080; 0 picks a free port)
///   - `databasePath` (`--db`, `TRIBUTARY_DB`, default `./tributary.db`)
///   - `providersDirectory` (`--providers`, `TRIBUTARY_PROVIDERS`, default `./Providers`)
///   - `masterKey` (`TRIBUTARY_MASTER_KEY`; unset: a 0600 key file beside the database)
///   - `adminToken` (`TRIBUTARY_ADMIN_TOKEN`; unset: generated on the first `serve` into `<db>.admin-token` (0600), only its digest stored)
///   - `allowPrivateUpstreams` (`--allow-private-upstreams`, `TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS=1`, default off)
///   - `intake`: see ``IntakeConfiguration``
///   - `store`: see ``StoreOptions`` (`TRIBUTARY_DB_BUSY_TIMEOUT_MS`, `TRIBUTARY_INTAKE_MAX_WAITING_EVENTS`,
///     `TRIBUTARY_INTAKE_MAX_WAITING_BYTES`)
public struct EngineConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var databasePath: String
    public var providersDirectory: String
    public var masterKey: String?
    /// The bearer token `/v1` requires. `nil`: the one whose SHA-256 digest is stored in the database
    /// (``Engine/prepareAdminToken()`` generates it on first start).
    public var adminToken: String?
    public var intake: IntakeConfiguration
    /// Seconds a keep-alive connection may sit idle (and a stalled request may go unread) before it is closed.
    public var idleTimeoutSeconds: Int64
    /// How the store opens and bounds intake's waiting appends: see ``StoreOptions``.
    public var store = StoreOptions()
    /// Share one commit between concurrent appends (default); `false` only for benchmarks.
    public var groupCommit: Bool {
        get { store.groupCommit }
        set { store.groupCommit = newValue }
    }
    /// Run the poll scheduler inside `serve` (`--no-poll` turns it off).
    public var polling: Bool = true
    /// Run the reconciler inside `serve` (`--no-reconcile` turns it off).
    public var reconciling: Bool = true
    /// Send the outbox to the destinations inside `serve` (off with the reconciler: it fills the outbox).
    public var delivering: Bool = true
    /// When failed deliveries are tried again (Standard Webhooks' schedule; tests shorten it).
    public var deliverySchedule: DeliverySchedule = .standard
    /// How often the delivery workers look for due deliveries.
    public var deliveryTick: Duration = .milliseconds(250)
    /// Microseconds a destination may fail continuously before it is disabled (default 5 days).
    public var destinationDisableAfter: Int64 = 5 * 86_400 * 1_000_000
    /// Microseconds without a webhook after a change a poll found, before the connection's webhooks
    /// count as silent (`TRIBUTARY_WEBHOOK_SILENCE_SECONDS`, default 15 minutes).
    public var webhookSilenceWindow: Int64 = 900 * 1_000_000
    /// Serve HTTPS with this (`--tls-cert`/`--tls-key`); `nil`: plain HTTP, for a reverse proxy that terminates TLS.
    public var tls: TLSConfiguration?
    /// The bearer token `GET /metrics` asks for (`TRIBUTARY_METRICS_TOKEN`); `nil`: open, like `/healthz`.
    public var metricsToken: String?
    /// A `connection` label on the per-connection metrics (`TRIBUTARY_METRICS_PER_CONNECTION=1`).
    public var metricsPerConnection = false
    /// How long delivered and dead deliveries are kept (7 and 30 days).
    public var deliveryRetention = DeliveryRetention()
    /// Whether provider APIs may be reached at private and loopback addresses (`--allow-private-upstreams`,
    /// `TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS=1`): a self-hosted API, or the simulator. Off by default, so a
    /// manifest, an `--api-base-url` or a provider's redirect cannot aim requests at the internal network.
    public var allowPrivateUpstreams: Bool = false
    /// How long a one-shot command's provider calls may keep retrying, from the engine's start
    /// (`poll` and `reconcile --max-wait`); `nil` in `serve`, whose scheduler tries again later.
    public var maxWait: Duration?
    /// How often the scheduler looks for due polls (and the reconciler for pending events).
    public var pollTick: Duration = .seconds(1)
    /// Called with each poll run's report as the scheduler's run ends (tests await runs through it).
    public var pollFinished: @Sendable (PollReport) -> Void = { _ in }
    public var logger: Logger
    /// The one clock every part of the engine reads and waits on (``EngineClock/system``; tests inject
    /// a fixed or manual one).
    public var clock: EngineClock
    /// Microseconds since the epoch, as ``clock`` reads them. Tests set a fixed instant to exercise replay windows.
    public var now: @Sendable () -> Int64 {
        get { clock.now }
        set { clock = clock.reading(newValue) }
    }

    public init(
        host: String = "127.0.0.1", port: Int = 8080, databasePath: String = "./tributary.db",
        providersDirectory: String = "./Providers", masterKey: String? = nil, adminToken: String? = nil,
        intake: IntakeConfiguration = IntakeConfiguration(), idleTimeoutSeconds: Int64 = 60,
        logger: Logger = Logger(label: "tributary"), clock: EngineClock = .system
    ) {
        self.host = host
        self.port = port
        self.databasePath = databasePath
        self.providersDirectory = providersDirectory
        self.masterKey = masterKey
        self.adminToken = adminToken
        self.intake = intake
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.logger = logger
        self.clock = clock
    }

    /// Sends every log line to stderr at `LOG_LEVEL` (trace … critical; default info). Call once,
    /// before the first logger is made (`serve` does; one-shot commands keep swift-log's default).
    public static func bootstrapLogging(environment: [String: String]) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
    }

    /// This build's version, as `tributary --version` prints it.
    public static let version = "0.3.0-dev"

    /// The process's logger, made after ``bootstrapLogging(environment:)``.
    public static func defaultLogger() -> Logger { Logger(label: "tributary") }
}

extension EngineConfiguration {
    /// The service's public base URL (`TRIBUTARY_PUBLIC_URL`): what signed URLs cover, and where
    /// subscriptions and OAuth callbacks send providers.
    public var publicBaseURL: String? {
        get { intake.publicBaseURL }
        set { intake.publicBaseURL = newValue }
    }
}
