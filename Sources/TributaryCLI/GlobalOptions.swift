import ArgumentParser
import Foundation
import Logging
import TributaryCore
import TributaryProviders
import TributaryRuntime
import TributaryStore

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

    /// `--allow-private-upstreams`, or `TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS` set to 1/true (0/false/empty: off).
    func allowPrivateUpstreams() throws -> Bool {
        if allowPrivateUpstreamsFlag { return true }
        do {
            return try EngineConfiguration.allowPrivateUpstreams(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw CLIError.usage(error.message)
        }
    }

    /// How the store opens (`TRIBUTARY_DB_BUSY_TIMEOUT_MS`), as Runtime reads it.
    func storeOptions() throws -> StoreOptions {
        do {
            return try EngineConfiguration.storeOptions(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw CLIError.usage(error.message)
        }
    }

    var databasePath: String { db ?? ProcessInfo.processInfo.environment["TRIBUTARY_DB"] ?? "./tributary.db" }
    var providersDirectory: String { providers ?? ProcessInfo.processInfo.environment["TRIBUTARY_PROVIDERS"] ?? "./Providers" }
    var masterKey: String? { ProcessInfo.processInfo.environment["TRIBUTARY_MASTER_KEY"] }

    func openStore() throws -> Store {
        let options = try storeOptions()
        do {
            return try Store(path: databasePath, masterKey: masterKey, options: options, logger: Logger(label: "tributary"))
        } catch {
            throw CLIError.failure(error.message)
        }
    }

    /// The engine as `serve` builds it (store, manifests, poll runner), without listening.
    func openEngine() throws -> Engine {
        do {
            var configuration = EngineConfiguration(
                databasePath: databasePath, providersDirectory: providersDirectory, masterKey: masterKey, logger: Logger(label: "tributary")
            )
            configuration.allowPrivateUpstreams = try allowPrivateUpstreams()
            configuration.store = try storeOptions()
            return try Engine(configuration: configuration)
        } catch let error as CLIError {
            throw error
        } catch let error as ManifestErrors {
            throw CLIError.usage("provider manifests in \(providersDirectory) are invalid:\n" + error.description)
        } catch {
            throw CLIError.failure("\(error)")
        }
    }

    func loadCatalog() throws -> ManifestCatalog {
        do {
            return try ManifestCatalog.load(directory: providersDirectory)
        } catch {
            throw CLIError.usage("provider manifests in \(providersDirectory) are invalid:\n" + error.description)
        }
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

/// The wall clock in microseconds since the epoch: the engine's one definition of it.
func nowMicros() -> Int64 { EngineConfiguration.systemNow() }
