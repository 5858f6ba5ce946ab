import ArgumentParser
import Foundation
import TributaryCore
import TributaryRuntime

/// Options every command takes: where the database and the manifests are, and the output format.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "SQLite database file (env TRIBUTARY_DB, default ./tributary.db).")
    var db: String?

    @Option(name: .long, help: "Directory of provider manifests (env TRIBUTARY_PROVIDERS, default ./Providers).")
    var providers: String?

    @Flag(name: .long, help: "Machine-readable JSON output.")
    var json = false

    @Flag(name: .customLong("allow-private-upstreams"),
          help: "Let provider API calls reach private and loopback addresses: a self-hosted API or the simulator (env TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS=1).")
    var allowPrivateUpstreamsFlag = false

    /// The settings every command reads from the environment are checked while the arguments are
    /// parsed: a wrong one exits 2 naming it, before anything opens.
    func validate() throws {
        let environment = ProcessInfo.processInfo.environment
        if db?.isEmpty == true { throw ValidationError("--db must not be empty") }
        if providers?.isEmpty == true { throw ValidationError("--providers must not be empty") }
        do {
            _ = try EngineConfiguration.allowPrivateUpstreams(environment: environment)
            _ = try EngineConfiguration.storeOptions(environment: environment)
            try EngineConfiguration.checkLogLevel(environment: environment)
            try EngineConfiguration.checkMasterKey(environment: environment)
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// `--allow-private-upstreams`, or `TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS` set to 1/true (0/false/empty: off).
    func allowPrivateUpstreams() throws -> Bool {
        if allowPrivateUpstreamsFlag { return true }
        do {
            return try EngineConfiguration.allowPrivateUpstreams(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw CLIError.usage(error.message)
        }
    }

    // An empty variable counts as unset, as for every setting.
    var databasePath: String { db ?? ProcessInfo.processInfo.environment["TRIBUTARY_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "./tributary.db" }
    var providersDirectory: String {
        providers ?? ProcessInfo.processInfo.environment["TRIBUTARY_PROVIDERS"].flatMap { $0.isEmpty ? nil : $0 } ?? "./Providers"
    }
    var masterKey: String? { ProcessInfo.processInfo.environment["TRIBUTARY_MASTER_KEY"] }

    /// The database, for the commands that only read or change what it holds.
    /// - Parameter readOnly: the command only reads: the database is opened read-only (it must exist).
    func openAdmin(readOnly: Bool = false) throws -> Admin {
        try Admin(
            databasePath: databasePath, providersDirectory: providersDirectory, masterKey: masterKey,
            environment: ProcessInfo.processInfo.environment, readOnly: readOnly
        )
    }

    /// The engine as `serve` builds it (store, manifests, upstream clients), without listening.
    /// - Parameter maxWait: how long provider calls may keep retrying (`--max-wait`).
    func openEngine(maxWait: Duration? = nil, publicURL: String? = nil) throws -> Engine {
        let environment = ProcessInfo.processInfo.environment
        var configuration = EngineConfiguration(databasePath: databasePath, providersDirectory: providersDirectory, masterKey: masterKey)
        configuration.maxWait = maxWait
        configuration.publicBaseURL = publicURL
        configuration.allowPrivateUpstreams = try allowPrivateUpstreams()
        do {
            configuration.store = try EngineConfiguration.storeOptions(environment: environment)
        } catch {
            throw CLIError.usage(error.message)
        }
        return try Engine.open(configuration)
    }
}

/// Writes to stdout without buffering (a `print` may sit in a buffer when the process is killed).
enum Output {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func json(_ value: JSONValue) {
        line(value.jsonText)
    }
}

