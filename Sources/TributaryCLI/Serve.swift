import ArgumentParser
import Foundation
import TributaryCore
import TributaryRuntime

/// `tributary serve`: intake (and, later, the workers) in one process until SIGTERM/SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the service: webhook intake, polling, the reconciler, the /v1 API and health routes.",
        discussion: "The /v1 API needs a bearer token: TRIBUTARY_ADMIN_TOKEN, or one generated on the first start and written to <db>.admin-token (mode 0600)."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(parsing: .unconditional, help: "Port to bind (0 picks a free one; the chosen port is printed).") var port = 8080
    @Option(name: .customLong("public-url"), help: "Scheme and host providers call, for URL-signing providers (env TRIBUTARY_PUBLIC_URL).")
    var publicURL: String?
    @Option(name: .customLong("max-body"), parsing: .unconditional, help: "Largest accepted webhook body in bytes (env TRIBUTARY_MAX_BODY).")
    var maxBody: Int?
    @Option(name: .customLong("body-timeout"), parsing: .unconditional, help: "Seconds allowed to receive a request body (env TRIBUTARY_BODY_TIMEOUT).")
    var bodyTimeout: Int?
    @Option(name: .customLong("max-waiting-events"), parsing: .unconditional, help: "Webhooks that may wait for a commit at once; past it intake answers 503 (env TRIBUTARY_INTAKE_MAX_WAITING_EVENTS, default 10000).")
    var maxWaitingEvents: Int?
    @Option(name: .customLong("max-waiting-bytes"), parsing: .unconditional, help: "Body bytes those webhooks may hold; past it intake answers 503 (env TRIBUTARY_INTAKE_MAX_WAITING_BYTES, default 67108864).")
    var maxWaitingBytes: Int?
    @Option(name: .customLong("tls-cert"), help: "Serve HTTPS with this PEM certificate chain (env TRIBUTARY_TLS_CERT); needs --tls-key. Without it, plain HTTP for a proxy that terminates TLS.")
    var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: "The certificate's unencrypted PEM private key (env TRIBUTARY_TLS_KEY).")
    var tlsKey: String?
    @Flag(name: .customLong("no-poll"), help: "Do not run the poll scheduler in this process.")
    var noPoll = false
    @Flag(name: .customLong("no-reconcile"), help: "Do not run the reconciler in this process.")
    var noReconcile = false

    /// The flags as Runtime reads them (with the environment) into the engine's configuration.
    var flags: ServeFlags {
        var flags = ServeFlags()
        flags.host = host
        flags.port = port
        flags.database = global.db
        flags.providers = global.providers
        flags.publicURL = publicURL
        flags.maxBody = maxBody
        flags.bodyTimeout = bodyTimeout
        flags.maxWaitingEvents = maxWaitingEvents
        flags.maxWaitingBytes = maxWaitingBytes
        flags.allowPrivateUpstreams = global.allowPrivateUpstreamsFlag
        flags.polling = !noPoll
        flags.reconciling = !noReconcile
        flags.tlsCertificate = tlsCertificate
        flags.tlsKey = tlsKey
        return flags
    }

    /// Every setting is checked before anything opens or listens: a wrong one exits 2 naming it.
    func validate() throws {
        do {
            _ = try EngineConfiguration.resolve(flags, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var configuration: EngineConfiguration
        do {
            configuration = try EngineConfiguration.resolve(flags, environment: environment)
        } catch {
            throw CLIError.usage(error.message)
        }
        // Where it will listen is checked before the database, its key or the admin token exist.
        try ListenAddress.check(host: configuration.host, port: configuration.port)
        EngineConfiguration.bootstrapLogging(environment: environment)
        configuration.logger = EngineConfiguration.defaultLogger()
        let engine = try Engine.open(configuration)
        let (host, databasePath, scheme) = (self.host, global.databasePath, configuration.tls == nil ? "http" : "https")
        try await engine.run { port in
            // Only now that it listens: a serve that cannot start leaves no admin token behind.
            do {
                if let generated = try await engine.prepareAdminToken() {
                    let file = try AdminTokenFile.write(generated, database: databasePath)
                    Output.line("admin token written to \(file) (readable by this user only)")
                }
            } catch {
                Output.error("tributary: cannot create the /v1 admin token (\(error)); /v1 refuses every request until `tributary admin-token rotate` makes one")
            }
            Output.line("tributary listening on \(scheme)://\(host):\(port)")
        }
    }
}
