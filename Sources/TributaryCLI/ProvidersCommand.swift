import ArgumentParser
import TributaryCore
import TributaryRuntime

/// `tributary providers list|validate`.
struct Providers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers",
        abstract: "List or validate provider manifests.",
        subcommands: [List.self, Validate.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the providers the manifests describe.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let providers = try Manifests.summaries(directory: global.providersDirectory)
            if global.json {
                Output.json(.array(providers.map(\.json)))
            } else {
                for provider in providers {
                    if let problem = provider.problems.first {
                        let more = provider.problems.count > 1 ? " (and \(provider.problems.count - 1) more; see `tributary providers validate`)" : ""
                        Output.line("\(provider.id)\tINVALID\t\(problem)\(more)")
                    } else {
                        Output.line("\(provider.id)\t\(provider.name)\t\(provider.scheme ?? "-")")
                    }
                }
            }
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate manifests against Schemas/provider.schema.json; exit 2 listing every error (file, path, reason)."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Manifest files (default: every *.yaml in the providers directory).") var files: [String] = []

        func run() async throws {
            let (count, errors) = try Manifests.validate(files: files, directory: global.providersDirectory)
            if global.json {
                Output.json(.object([
                    ("valid", .bool(errors.isEmpty)),
                    ("files", .number(String(count))),
                    ("errors", .array(errors.map { .object([("file", .string($0.file)), ("path", .string($0.path)), ("reason", .string($0.reason))]) })),
                ]))
            } else {
                for error in errors { Output.error(error.description) }
                if errors.isEmpty { Output.line("\(count) manifest(s) valid") }
            }
            if !errors.isEmpty {
                throw CLIError.usage("\(errors.count) error(s) in \(Set(errors.map(\.file)).count) manifest(s)")
            }
        }
    }
}
