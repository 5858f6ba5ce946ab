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

    func run() async throws {
        let engine = try global.openEngine()
        let reports: [PollReport]
        do {
            reports = try await engine.poll(force: once, connection: connection, resource: resource)
        } catch {
            throw CLIError.failure("cannot poll: \(error)")
        }
        if reports.isEmpty, connection != nil || resource != nil {
            throw CLIError.usage("nothing to poll for \(connection.map { "connection \($0)" } ?? "")\(resource.map { " resource \($0)" } ?? "")")
        }
        if global.json {
            Output.json(.array(reports.map(\.json)))
        } else {
            for r in reports {
                let outcome = r.skipped ? "skipped (leased elsewhere)" : r.error.map { "failed: \($0)" } ?? "ok"
                Output.line("\(r.connection)\t\(r.resource)\tpages=\(r.pages)\tobserved=\(r.observations)\tnew=\(r.newEvents)\t\(outcome)")
            }
        }
        if reports.contains(where: { $0.error != nil }) { throw CLIError.failure("\(reports.filter { $0.error != nil }.count) poll run(s) failed") }
    }

}
