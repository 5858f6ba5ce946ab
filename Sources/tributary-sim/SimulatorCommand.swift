import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ProviderSimulator

/// `tributary-sim`: serve a fake third-party API until SIGTERM/SIGINT.
///
/// Every flag maps to one ``SimulatorConfiguration`` key (see its documentation for the
/// semantics); the configuration is checked before anything listens, and a bad value ends
/// the process with one sentence on stderr and exit code 2. Once the server is bound, it
/// prints `tributary-sim listening on http://HOST:PORT` on stdout, so scripts can wait for it.
@main
struct SimulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary-sim",
        abstract: "Serve a simulated provider API (records, four cursor styles, rate limits, chaos, webhooks) for tests and benchmarks."
    )

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind (0 picks a free one; the chosen port is printed).") var port = 8090
    @Option(help: "Seed of every random choice.") var seed: UInt64 = 1
    @Option(help: "Records created per type at start.") var records = 100
    @Option(help: "Record types, comma-separated.") var types = "customer,ticket"
    @Option(help: "Resolution of updated_at: seconds or milliseconds.") var granularity = "seconds"
    @Option(help: "Bearer token accepted (repeatable; default sim_token).") var token: [String] = []

    @Option(name: .customLong("rate-limit"), help: "Requests per second per token (token bucket refill); unlimited when absent.")
    var rateLimit: Double?
    @Option(help: "Bucket capacity (default: the rate, at least 1).") var burst: Int?
    @Option(name: .customLong("retry-after-format"), help: "Retry-After form: seconds, http-date or alternate.")
    var retryAfterFormat = "seconds"
    @Option(name: .customLong("reset-format"), help: "X-RateLimit-Reset form: delta or epoch.") var resetFormat = "delta"

    @Option(name: .customLong("chaos-429"), help: "Fraction of requests answered 429 regardless of the bucket.") var chaos429 = 0.0
    @Option(name: .customLong("chaos-429-retry-after"), help: "Retry-After seconds of chaos 429s.") var chaos429RetryAfter = 1
    @Option(name: .customLong("chaos-5xx"), help: "Fraction of requests answered 500 or 503.") var chaos5xx = 0.0
    @Option(name: .customLong("latency-ms"), help: "Added latency in ms: N, or MIN-MAX for a uniform range.") var latencyMs: String?
    @Option(name: .customLong("repeat-at-boundary"), help: "Items repeated at the start of continuation pages.") var repeatAtBoundary = 0

    @Option(name: .customLong("mutations-per-second"), help: "Start the background mutation loop at this rate.")
    var mutationsPerSecond: Double?
    @Option(name: .customLong("sync-token-ttl"), help: "Seconds a sync token stays valid.") var syncTokenTTL: Int64 = 3600
    @Option(name: .customLong("sync-token-max-changes"), help: "Changes after which a sync token expires.") var syncTokenMaxChanges: Int64?
    @Option(name: .customLong("event-retention"), help: "Seconds events are kept in /v1/events.") var eventRetention: Int64 = 30 * 86_400
    @Option(name: .customLong("deleted-status"), help: "Status of fetching a deleted record: 404 or 410.") var deletedStatus = 404
    @Flag(name: .customLong("hard-deletes"), help: "Deleted records vanish from the timestamp lists instead of staying as tombstones.") var hardDeletes = false
    @Option(name: .customLong("page-size"), help: "Default page size.") var pageSize = 100
    @Option(name: .customLong("max-page-size"), help: "Largest page size; larger limits are clamped.") var maxPageSize = 1000

    @Option(name: .customLong("webhook-url"), help: "Loopback URL to POST Standard Webhooks deliveries to.") var webhookURL: String?
    @Option(name: .customLong("webhook-secret"), help: "whsec_<base64> signing secret.") var webhookSecret: String?
    @Option(help: "Fraction of webhooks dropped.") var drop = 0.0
    @Option(help: "Fraction of webhooks sent twice.") var duplicate = 0.0
    @Option(name: .customLong("reorder-window"), help: "Webhooks may overtake each other within this window (1 = in order).")
    var reorderWindow = 1

    func run() async throws {
        let configuration: SimulatorConfiguration
        do {
            configuration = try simulatorConfiguration()
        } catch {
            Self.fail(error.message)
        }
        let environment = ProcessInfo.processInfo.environment
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        let simulator: ProviderSimulator
        do {
            simulator = try ProviderSimulator(configuration: configuration, logger: Logger(label: "tributary-sim"))
        } catch {
            Self.fail(error.message)
        }
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        let app = simulator.application { port in
            FileHandle.standardOutput.write(Data("tributary-sim listening on http://\(host):\(port)\n".utf8))
        }
        try await app.runService()
    }

    /// The flags as a configuration; the values are range-checked by `ProviderSimulator.init`.
    func simulatorConfiguration() throws(SimulatorError) -> SimulatorConfiguration {
        func option<Value: RawRepresentable>(_ flag: String, _ text: String, as: Value.Type) throws(SimulatorError) -> Value
            where Value.RawValue == String, Value: CaseIterable {
            guard let value = Value(rawValue: text) else {
                let allowed = Value.allCases.map(\.rawValue).joined(separator: ", ")
                throw SimulatorError(.invalidConfiguration, "\(flag) must be one of \(allowed), not \"\(text)\"")
            }
            return value
        }
        var configuration = SimulatorConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.seed = seed
        configuration.initialRecordsPerType = records
        configuration.types = types.split(separator: ",").map { String($0) }
        configuration.granularity = try option("--granularity", granularity, as: SimulatorConfiguration.Granularity.self)
        if !token.isEmpty { configuration.tokens = token }
        if let rateLimit {
            configuration.rateLimit = .init(requestsPerSecond: rateLimit, burst: burst ?? max(1, Int(rateLimit.rounded(.up))))
        } else if burst != nil {
            throw SimulatorError(.invalidConfiguration, "--burst needs --rate-limit")
        }
        configuration.retryAfterFormat = try option("--retry-after-format", retryAfterFormat, as: SimulatorConfiguration.RetryAfterFormat.self)
        configuration.resetFormat = try option("--reset-format", resetFormat, as: SimulatorConfiguration.ResetFormat.self)
        configuration.chaos.rateLimitFraction = chaos429
        configuration.chaos.rateLimitRetryAfterSeconds = chaos429RetryAfter
        configuration.chaos.serverErrorFraction = chaos5xx
        configuration.chaos.repeatAtBoundary = repeatAtBoundary
        if let latencyMs {
            let bounds = latencyMs.split(separator: "-", maxSplits: 1).map { Int($0) }
            guard let low = bounds.first ?? nil, let high = bounds.last ?? nil, low <= high else {
                throw SimulatorError(.invalidConfiguration, "--latency-ms must be N or MIN-MAX in milliseconds, not \"\(latencyMs)\"")
            }
            configuration.chaos.latencyMilliseconds = low...high
        }
        configuration.mutationsPerSecond = mutationsPerSecond
        configuration.syncTokenLifetimeSeconds = syncTokenTTL
        configuration.syncTokenMaxChanges = syncTokenMaxChanges
        configuration.eventRetentionSeconds = eventRetention
        guard let status = SimulatorConfiguration.DeletedFetchStatus(rawValue: deletedStatus) else {
            throw SimulatorError(.invalidConfiguration, "--deleted-status must be 404 or 410, not \(deletedStatus)")
        }
        configuration.deletedFetchStatus = status
        configuration.hardDeletes = hardDeletes
        configuration.defaultPageSize = pageSize
        configuration.maxPageSize = maxPageSize
        switch (webhookURL, webhookSecret) {
        case (let url?, let secret?):
            configuration.webhooks = WebhookConfiguration(
                url: url, secret: secret, dropRate: drop, duplicateRate: duplicate, reorderWindow: reorderWindow
            )
        case (nil, nil):
            break
        default:
            throw SimulatorError(.invalidConfiguration, "--webhook-url and --webhook-secret go together")
        }
        try configuration.validate()
        return configuration
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("tributary-sim: \(message)\n".utf8))
        Foundation.exit(2)
    }
}
