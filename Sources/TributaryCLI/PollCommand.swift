import ArgumentParser
import TributaryCore
import TributaryRuntime

/// `tributary poll`: run due polls (or all, with `--once`) and exit — for cron.
struct Poll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run due polls (all with --once) and exit; safe beside a running serve (runs are leased)."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this connection.") var connection: String?
    @Option(help: "Only this resource.") var resource: String?
    @Flag(help: "Run every selected resource now, due or not.") var once = false
    @Option(name: .customLong("max-wait"), parsing: .unconditional, help: "Seconds to keep retrying a provider that fails or throttles before giving up with its last error.")
    var maxWait = 60

    func validate() throws {
        guard maxWait > 0 else { throw ValidationError("--max-wait must be a positive number of seconds, not \(maxWait)") }
    }

    func run() async throws {
        let reports = try await global.openEngine(maxWait: .seconds(maxWait)).poll(force: once, connection: connection, resource: resource)
        if global.json {
            Output.json(.array(reports.map(\.json)))
        } else {
            for r in reports {
                let outcome = r.skipped ? "skipped (leased elsewhere)" : r.error.map { "failed: \($0)" } ?? "ok"
                Output.line("\(r.connection)\t\(r.resource)\tpages=\(r.pages)\tobserved=\(r.observations)\tnew=\(r.newEvents)\t\(outcome)")
            }
        }
        let failed = reports.filter { $0.error != nil }
        if let first = failed.first {
            let others = failed.count > 1 ? " (and \(failed.count - 1) more run(s) failed)" : ""
            throw CLIError.failure("the poll of \(first.connection)/\(first.resource) failed: \(first.error ?? "")\(others)")
        }
    }
}
