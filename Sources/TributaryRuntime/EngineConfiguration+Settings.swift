import Foundation
import Logging
import TributaryCore
import TributaryIntake
public import TributaryStore

/// A setting that is wrong: which one (its flag or environment variable) and why, in one sentence.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// What `serve` was given on its command line; `nil` is "not given" (the environment, then the default, decide).
public struct ServeFlags: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var database: String?
    public var providers: String?
    public var publicURL: String?
    public var maxBody: Int?
    public var bodyTimeout: Int?
    public var maxWaitingEvents: Int?
    public var maxWaitingBytes: Int?
    public var allowPrivateUpstreams = false
    public var polling = true
    public var reconciling = true

    public init() {}
}

extension EngineConfiguration {
    /// The configuration `serve` runs with: each flag, else its environment variable, else the
    /// default; every value checked here, before anything opens or listens.
    /// - Throws: ``ConfigurationError`` naming the first setting at fault.
    public static func resolve(_ flags: ServeFlags, environment: [String: String]) throws(ConfigurationError) -> EngineConfiguration {
        let settings = Settings(environment: environment)
        let maxBody = try positive(flags.maxBody, "--max-body", else: settings.positive("TRIBUTARY_MAX_BODY", unit: "bytes")) ?? (1 << 20)
        let bodyTimeout = try positive(flags.bodyTimeout, "--body-timeout", else: settings.positive("TRIBUTARY_BODY_TIMEOUT", unit: "seconds")) ?? 10
        guard (0...65535).contains(flags.port) else { throw ConfigurationError("--port must be between 0 and 65535, not \(flags.port)") }
        let publicURL = flags.publicURL ?? settings.text("TRIBUTARY_PUBLIC_URL")
        if let publicURL, URL(string: publicURL)?.host == nil {
            let setting = flags.publicURL != nil ? "--public-url" : "TRIBUTARY_PUBLIC_URL"
            throw ConfigurationError("\(setting) must be an absolute URL such as https://hooks.example.com, not \"\(publicURL)\"")
        }
        // Empty counts as unset, as for TRIBUTARY_MASTER_KEY: the API then uses the generated token.
        let adminToken = settings.text("TRIBUTARY_ADMIN_TOKEN")
        if let adminToken {
            // A header value cannot carry spaces or control bytes intact, and a short token can be guessed.
            guard adminToken.utf8.count >= 16, adminToken.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
                throw ConfigurationError("TRIBUTARY_ADMIN_TOKEN must be at least 16 printable ASCII characters without spaces")
            }
        }
        try checkLogLevel(environment: environment)
        try checkMasterKey(environment: environment)
        var store = try storeOptions(environment: environment)
        if let events = try positive(flags.maxWaitingEvents, "--max-waiting-events",
                                     else: settings.positive("TRIBUTARY_INTAKE_MAX_WAITING_EVENTS", unit: "events")) {
            store.maxWaitingEvents = events
        }
        if let bytes = try positive(flags.maxWaitingBytes, "--max-waiting-bytes",
                                    else: settings.positive("TRIBUTARY_INTAKE_MAX_WAITING_BYTES", unit: "bytes")) {
            store.maxWaitingBytes = bytes
        }
        var configuration = EngineConfiguration(
            host: flags.host, port: flags.port,
            databasePath: flags.database ?? settings.text("TRIBUTARY_DB") ?? "./tributary.db",
            providersDirectory: flags.providers ?? settings.text("TRIBUTARY_PROVIDERS") ?? "./Providers",
            masterKey: environment["TRIBUTARY_MASTER_KEY"], adminToken: adminToken,
            intake: IntakeConfiguration(maxBodyBytes: maxBody, bodyTimeout: .seconds(bodyTimeout), publicBaseURL: publicURL)
        )
        configuration.store = store
        let privateFromEnvironment = try allowPrivateUpstreams(environment: environment)
        configuration.allowPrivateUpstreams = flags.allowPrivateUpstreams || privateFromEnvironment
        configuration.polling = flags.polling
        configuration.reconciling = flags.reconciling
        if let hours = try settings.positive("TRIBUTARY_DESTINATION_DISABLE_AFTER_HOURS", unit: "hours") {
            // Bounded so the microseconds cannot overflow: ten years is "never" for this purpose.
            guard hours <= 87_600 else { throw ConfigurationError("TRIBUTARY_DESTINATION_DISABLE_AFTER_HOURS must be at most 87600 (ten years), not \(hours)") }
            configuration.destinationDisableAfter = Int64(hours) * 3_600_000_000
        }
        for (name, keep) in [("TRIBUTARY_DELIVERY_RETENTION_HOURS", \DeliveryRetention.delivered), ("TRIBUTARY_DEAD_DELIVERY_RETENTION_HOURS", \.dead)] {
            if let hours = try settings.positive(name, unit: "hours") {
                guard hours <= 87_600 else { throw ConfigurationError("\(name) must be at most 87600 (ten years), not \(hours)") }
                configuration.deliveryRetention[keyPath: keep] = Int64(hours) * 3_600_000_000
            }
        }
        return configuration
    }

    /// A flag's value, which must be positive when given; `fallback` (its variable's) when not.
    private static func positive(_ value: Int?, _ flag: String, else fallback: Int?) throws(ConfigurationError) -> Int? {
        guard let value else { return fallback }
        guard value > 0 else { throw ConfigurationError("\(flag) must be positive, not \(value)") }
        return value
    }

    /// How every command opens the store: `TRIBUTARY_DB_BUSY_TIMEOUT_MS`.
    public static func storeOptions(environment: [String: String]) throws(ConfigurationError) -> StoreOptions {
        var options = StoreOptions()
        if let millis = try Settings(environment: environment).positive("TRIBUTARY_DB_BUSY_TIMEOUT_MS", unit: "milliseconds") {
            options.busyTimeout = .milliseconds(millis)
        }
        return options
    }

    /// `TRIBUTARY_MASTER_KEY`, when set, must be a key (checked before any database opens).
    public static func checkMasterKey(environment: [String: String]) throws(ConfigurationError) {
        if let problem = SecretBox.keyProblem(environment["TRIBUTARY_MASTER_KEY"]) { throw ConfigurationError(problem) }
    }

    /// `TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS`: 1/true/yes on, 0/false/no/empty or unset off.
    public static func allowPrivateUpstreams(environment: [String: String]) throws(ConfigurationError) -> Bool {
        switch environment["TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS"]?.lowercased() {
        case nil, "", "0", "false", "no": return false
        case "1", "true", "yes": return true
        case let other?: throw ConfigurationError("TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS must be 1 or 0, not \"\(other)\"")
        }
    }
}

/// Environment variables read as settings.
private struct Settings {
    var environment: [String: String]

    /// The variable's text; empty counts as unset.
    func text(_ name: String) -> String? {
        environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The variable as a positive integer; `nil` when unset or empty.
    func positive(_ name: String, unit: String) throws(ConfigurationError) -> Int? {
        guard let text = text(name) else { return nil }
        guard let value = Int(text), value > 0 else { throw ConfigurationError("\(name) must be a positive number of \(unit), not \"\(text)\"") }
        return value
    }
}
