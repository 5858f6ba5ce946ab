import Foundation
import Logging
import NIOSSL
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
    /// `--tls-cert` and `--tls-key`: PEM files; both or neither.
    public var tlsCertificate: String?
    public var tlsKey: String?

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
        let metricsToken = settings.text("TRIBUTARY_METRICS_TOKEN")
        if let metricsToken {
            guard metricsToken.utf8.count >= 16, metricsToken.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
                throw ConfigurationError("TRIBUTARY_METRICS_TOKEN must be at least 16 printable ASCII characters without spaces")
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
        configuration.metricsToken = metricsToken
        configuration.tls = try tls(
            certificate: flags.tlsCertificate.map { ($0, "--tls-cert") } ?? settings.text("TRIBUTARY_TLS_CERT").map { ($0, "TRIBUTARY_TLS_CERT") },
            key: flags.tlsKey.map { ($0, "--tls-key") } ?? settings.text("TRIBUTARY_TLS_KEY").map { ($0, "TRIBUTARY_TLS_KEY") }
        )
        if let seconds = try settings.positive("TRIBUTARY_WEBHOOK_SILENCE_SECONDS", unit: "seconds") {
            guard seconds <= 30 * 86_400 else { throw ConfigurationError("TRIBUTARY_WEBHOOK_SILENCE_SECONDS must be at most 2592000 (30 days), not \(seconds)") }
            configuration.webhookSilenceWindow = Int64(seconds) * 1_000_000
        }
        configuration.metricsPerConnection = try flag("TRIBUTARY_METRICS_PER_CONNECTION", environment: environment)
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
        try flag("TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS", environment: environment)
    }

    /// The TLS configuration of `--tls-cert` and `--tls-key` (or their variables): both files read
    /// and checked against each other now, so a wrong one stops `serve` before it listens, naming it.
    /// TLS 1.2 at least. `nil` when neither is given.
    static func tls(certificate: (path: String, setting: String)?, key: (path: String, setting: String)?) throws(ConfigurationError) -> TLSConfiguration? {
        switch (certificate, key) {
        case (nil, nil):
            return nil
        case (let certificate?, nil):
            throw ConfigurationError("\(certificate.setting) needs --tls-key (or TRIBUTARY_TLS_KEY): the certificate's private key, a PEM file")
        case (nil, let key?):
            throw ConfigurationError("\(key.setting) needs --tls-cert (or TRIBUTARY_TLS_CERT): the certificate chain, a PEM file")
        case (let certificate?, let key?):
            for (path, setting) in [certificate, key] where !FileManager.default.isReadableFile(atPath: path) {
                throw ConfigurationError("\(setting) \(path) \(FileManager.default.fileExists(atPath: path) ? "cannot be read by this user" : "does not exist")")
            }
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMFile(certificate.path)
            } catch {
                throw ConfigurationError("\(certificate.setting) \(certificate.path) is not a PEM certificate chain (-----BEGIN CERTIFICATE-----)")
            }
            guard !chain.isEmpty else { throw ConfigurationError("\(certificate.setting) \(certificate.path) holds no certificate") }
            let privateKey: NIOSSLPrivateKey
            do {
                privateKey = try NIOSSLPrivateKey(file: key.path, format: .pem)
            } catch {
                throw ConfigurationError("\(key.setting) \(key.path) is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)")
            }
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
            tls.minimumTLSVersion = .tlsv12
            do {
                _ = try NIOSSLContext(configuration: tls)
            } catch {
                throw ConfigurationError("\(key.setting) \(key.path) is not the private key of the certificate in \(certificate.setting) \(certificate.path)")
            }
            return tls
        }
    }

    /// A switch: 1/true/yes on, 0/false/no/empty or unset off; anything else is refused, naming it.
    static func flag(_ name: String, environment: [String: String]) throws(ConfigurationError) -> Bool {
        switch environment[name]?.lowercased() {
        case nil, "", "0", "false", "no": return false
        case "1", "true", "yes": return true
        case let other?: throw ConfigurationError("\(name) must be 1 or 0, not \"\(other.prefix(64))\"")
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
