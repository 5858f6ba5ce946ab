import ArgumentParser
import TributaryCore
import TributaryRuntime

/// `tributary status`: per connection and resource, where things stand.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show events by status, poll cursors, last and next runs, errors and rate-limit state.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this connection.") var connection: String?

    func run() async throws {
        let statuses = try await global.openAdmin().status(connection: connection)
        if global.json {
            Output.json(.array(statuses.map(\.json)))
        } else {
            for item in statuses.map(\.json) {
                Output.line("\(item["connection"]?.stringValue ?? "")\t\(item["provider"]?.stringValue ?? "")\tevents \(item["events"]?.jsonText ?? "")")
                if let rate = item["rate_limit"], rate != .null { Output.line("  rate limit \(rate.jsonText)") }
                if case .array(let resources)? = item["resources"] {
                    for r in resources {
                        Output.line("  \(r["resource"]?.stringValue ?? "")\tcursor \(r["cursor"]?.jsonText ?? "")\tlast \(r["last_run_finished_at"]?.stringValue ?? "-")\tnext \(r["next_run_at"]?.stringValue ?? "-")\terror \(r["last_error"]?.stringValue ?? "-")")
                    }
                }
            }
        }
    }
}
