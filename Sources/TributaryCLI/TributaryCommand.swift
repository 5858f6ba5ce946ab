import ArgumentParser
import Foundation
import TributaryRuntime

/// `tributary`: the command tree. `main` stays thin; every command is a small struct here.
struct TributaryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary",
        abstract: "Receive, poll and reconcile third-party changes into one event log.",
        version: EngineConfiguration.version,
        subcommands: [Serve.self, Demo.self, Providers.self, Apps.self, Connections.self, Events.self, Poll.self, Status.self, Reconcile.self, Records.self, Destinations.self, Deliveries.self, AdminTokenCommand.self]
    )

}

/// The entry point the `tributary` executable calls.
public enum TributaryMain {
    /// Parses the arguments, runs the command and exits with 0, 1 (runtime failure) or 2 (usage/validation).
    public static func main(arguments: [String]? = nil) async -> Never {
        do {
            var command = try TributaryCommand.parseAsRoot(arguments)
            // `serve` sets up its own logging (a service's log stream); every other command logs plain lines.
            if !(command is Serve) { EngineConfiguration.bootstrapCommandLogging(environment: ProcessInfo.processInfo.environment) }
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Foundation.exit(0)
        } catch let error as CLIError {
            Output.error("tributary: " + error.message)
            Foundation.exit(error.exitCode)
        } catch let error as OperationError {
            Output.error("tributary: " + error.message)
            Foundation.exit(error.kind == .usage ? 2 : 1)
        } catch {
            let code = TributaryCommand.exitCode(for: error)
            if code == .success {
                Output.line(TributaryCommand.fullMessage(for: error))
                Foundation.exit(0)
            }
            Output.error(TributaryCommand.fullMessage(for: error))
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue == 64 ? 2 : 1)
        }
    }
}
