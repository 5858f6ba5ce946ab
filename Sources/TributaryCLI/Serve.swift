import ArgumentParser
import Foundation
import Hummingbird
import Logging
import TributaryIntake
import TributaryRuntime
import TributaryStore

/// `tributary serve`: intake (and, later, the workers) in one process until SIGTERM/SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the service: webhook intake, polling, the reconciler, the /v1 API and health routes.",
        discussion: "The /v1 API needs a bearer token: TRIBUTARY_ADMIN_TOKEN, or one generated on the first start and written to <db>.admin-token (mode 0600)."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind (0 picks a free one; the chosen port is printed).") var port = 8080
    @Option(name: .customLong("public-url"), help: "Scheme and host providers call, for URL-signing providers (env TRIBUTARY_PUBLIC_URL).")
    var publicURL: String?
    @Option(name: .customLong("max-body"), help: "Largest accepted webhook body in bytes (env TRIBUTARY_MAX_BODY).")
    var maxBody: Int?
    @Option(name: .customLong("body-timeout"), help: "Seconds allowed to receive a request body (env TRIBUTARY_BODY_TIMEOUT).")
    var bodyTimeout: Int?
    @Option(name: .customLong("max-waiting-events"), help: "Webhooks that may wait for a commit at once; past it intake answers 503 (env TRIBUTARY_INTAKE_MAX_WAITING_EVENTS, default 10000).")
    var maxWaitingEvents: Int?
    @Option(name: .customLong("max-waiting-bytes"), help: "Body bytes those webhooks may hold; past it intake answers 503 (env TRIBUTARY_INTAKE_MAX_WAITING_BYTES, default 67108864).")
    var maxWaitingBytes: Int?
    @Flag(name: .customLong("no-poll"), help: "Do not run the poll scheduler in this process.")
    var noPoll = false
    @Flag(name: .customLong("no-reconcile"), help: "Do not run the reconciler in this process.")
    var noReconcile = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let maxBody = try maxBody ?? environment["TRIBUTARY_MAX_BODY"].map { text in
            guard let value = Int(text) else { throw CLIError.usage("TRIBUTARY_MAX_BODY must be a number of bytes, not \"\(text)\"") }
            return value
        } ?? (1 << 20)
        guard maxBody > 0 else { throw CLIError.usage("--max-body must be positive") }
        let bodyTimeout = try bodyTimeout ?? environment["TRIBUTARY_BODY_TIMEOUT"].map { text in
            guard let value = Int(text) else { throw CLIError.usage("TRIBUTARY_BODY_TIMEOUT must be a number of seconds, not \"\(text)\"") }
            return value
        } ?? 10
        guard bodyTimeout > 0 else { throw CLIError.usage("--body-timeout must be positive") }
        var store = try global.storeOptions()
        if let events = try maxWaitingEvents ?? global.positiveInteger("TRIBUTARY_INTAKE_MAX_WAITING_EVENTS", unit: "events") {
            guard events > 0 else { throw CLIError.usage("--max-waiting-events must be positive") }
            store.maxWaitingEvents = events
        }
        if let bytes = try maxWaitingBytes ?? global.positiveInteger("TRIBUTARY_INTAKE_MAX_WAITING_BYTES", unit: "bytes") {
            guard bytes > 0 else { throw CLIError.usage("--max-waiting-bytes must be positive") }
            store.maxWaitingBytes = bytes
        }
        guard (0...65535).contains(port) else { throw CLIError.usage("--port must be between 0 and 65535") }
        let publicURL = publicURL ?? environment["TRIBUTARY_PUBLIC_URL"]
        if let publicURL, URL(string: publicURL)?.host == nil {
            throw CLIError.usage("--public-url must be an absolute URL such as https://hooks.example.com, not \"\(publicURL)\"")
        }
        // Empty counts as unset, as for TRIBUTARY_MASTER_KEY: the API then uses the generated token.
        let adminToken = environment["TRIBUTARY_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if let adminToken {
            // A header value cannot carry spaces or control bytes intact, and a short token can be guessed.
            guard adminToken.utf8.count >= 16, adminToken.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
                throw CLIError.usage("TRIBUTARY_ADMIN_TOKEN must be at least 16 printable ASCII characters without spaces")
            }
        }

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        var configuration = EngineConfiguration(
            host: host, port: port, databasePath: global.databasePath, providersDirectory: global.providersDirectory,
            masterKey: global.masterKey, adminToken: adminToken,
            intake: IntakeConfiguration(maxBodyBytes: maxBody, bodyTimeout: .seconds(bodyTimeout), publicBaseURL: publicURL),
            logger: Logger(label: "tributary")
        )
        configuration.allowPrivateUpstreams = try global.allowPrivateUpstreams()
        configuration.store = store
        configuration.polling = !noPoll
        configuration.reconciling = !noReconcile
        let engine: Engine
        do {
            engine = try Engine(configuration: configuration)
        } catch {
            throw CLIError.failure("cannot start: \(error)")
        }
        do {
            if let generated = try await engine.prepareAdminToken() {
                let file = try AdminTokenFile.write(generated, database: global.databasePath)
                Output.line("admin token written to \(file) (readable by this user only)")
            }
        } catch let error as StoreError {
            throw CLIError.failure("cannot start: \(error.message)")
        }
        let host = self.host
        let app = engine.application { port in
            Output.line("tributary listening on http://\(host):\(port)")
        }
        try await app.runService()
    }
}
