import ArgumentParser
import Foundation
import TributaryCore
import TributaryRuntime

/// `tributary admin-token rotate`: a new `/v1` admin token, for a lost or leaked one.
struct AdminTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin-token",
        abstract: "Manage the bearer token the /v1 API requires.",
        subcommands: [Rotate.self]
    )

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the stored admin token with a new one, written to <db>.admin-token (mode 0600).",
            discussion: """
                The old token stops working at once, in running serve processes too. Only the new \
                token's SHA-256 digest is stored. While TRIBUTARY_ADMIN_TOKEN is set, serve checks that \
                token instead and ignores the stored one.
                """
        )

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let token = try await global.openAdmin().rotateAdminToken()
            let file = try AdminTokenFile.write(token, database: global.databasePath)
            if global.json {
                Output.json(.object([("token_file", .string(file))]))
            } else {
                Output.line("admin token written to \(file) (readable by this user only)")
            }
            if let configured = ProcessInfo.processInfo.environment["TRIBUTARY_ADMIN_TOKEN"], !configured.isEmpty {
                Output.error("tributary: TRIBUTARY_ADMIN_TOKEN is set: serve checks that token and ignores the stored one while it is set")
            }
        }
    }
}
