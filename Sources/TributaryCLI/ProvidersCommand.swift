import ArgumentParser
import Foundation
import TributaryCore
import TributaryProviders

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
            let catalog = try global.loadCatalog()
            let providers = catalog.providers.values.sorted { $0.id < $1.id }
            if global.json {
                Output.json(.array(providers.map { provider in
                    .object([
                        ("id", .string(provider.id)),
                        ("name", .string(provider.manifest.name)),
                        ("docs", .string(provider.manifest.docs)),
                        ("webhooks", .bool(provider.manifest.webhooks != nil)),
                        ("scheme", provider.manifest.webhooks.map { .string($0.verification.scheme.rawValue) } ?? .null),
                        ("handshake", provider.manifest.webhooks?.handshake.map { .string($0.kind.rawValue) } ?? .null),
                    ])
                }))
            } else {
                for provider in providers {
                    let scheme = provider.manifest.webhooks?.verification.scheme.rawValue ?? "-"
                    Output.line("\(provider.id)\t\(provider.manifest.name)\t\(scheme)")
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
            var targets = files
            if targets.isEmpty {
                let directory = global.providersDirectory
                guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
                    throw CLIError.usage("cannot read providers directory \(directory)")
                }
                targets = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { directory + "/" + $0 }
            }
            var errors: [ManifestError] = []
            for file in targets {
                if case .failure(let failure) = ManifestCatalog.validate(file: file) { errors += failure.errors }
            }
            if global.json {
                Output.json(.object([
                    ("valid", .bool(errors.isEmpty)),
                    ("files", .number(String(targets.count))),
                    ("errors", .array(errors.map { .object([("file", .string($0.file)), ("path", .string($0.path)), ("reason", .string($0.reason))]) })),
                ]))
            } else {
                for error in errors { Output.error(error.description) }
                if errors.isEmpty { Output.line("\(targets.count) manifest(s) valid") }
            }
            if !errors.isEmpty {
                throw CLIError.usage("\(errors.count) error(s) in \(Set(errors.map(\.file)).count) manifest(s)")
            }
        }
    }
}
