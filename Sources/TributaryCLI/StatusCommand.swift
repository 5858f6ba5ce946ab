import ArgumentParser
import Foundation
import Logging
import TributaryCore
import TributaryPolling
import TributaryRuntime
import TributaryStore

/// `tributary status`: per connection and resource, where things stand.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show events by status, poll cursors, last and next runs, errors and rate-limit state.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this connection.") var connection: String?

    func run() async throws {
        let store = try global.openStore()
        let items: [JSONValue]
        do {
            items = try await store.statusReport(connection: connection)
        } catch {
            throw CLIError.failure(error.message)
        }
        if global.json {
            Output.json(.array(items))
        } else {
            for item in items {
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
