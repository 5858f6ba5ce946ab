import Foundation
public import TributaryCore
import TributaryProviders

/// One provider as `providers list` shows it.
public struct ProviderSummary: Sendable, Equatable {
    public var id: String
    public var name: String
    public var docs: String
    public var webhooks: Bool
    /// The webhook signature scheme, if the provider sends webhooks.
    public var scheme: String?
    /// The webhook handshake kind, if any.
    public var handshake: String?
    /// What is wrong with its manifest (`file: /pointer: reason` each); empty when it is valid.
    /// An invalid provider is listed so that it is not mistaken for a missing one.
    public var problems: [String] = []

    public var json: JSONValue {
        .object([
            ("id", .string(id)), ("name", .string(name)), ("docs", .string(docs)), ("webhooks", .bool(webhooks)),
            ("scheme", scheme.map(JSONValue.string) ?? .null), ("handshake", handshake.map(JSONValue.string) ?? .null),
            ("valid", .bool(problems.isEmpty)), ("problems", .array(problems.map(JSONValue.string))),
        ])
    }
}

/// One thing wrong in a manifest: the file, the JSON Pointer into it, and why.
public struct ManifestProblem: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var path: String
    public var reason: String
    public var description: String
}

/// The provider manifests of a directory, as the operator's commands read them.
public enum Manifests {
    /// Loads every valid manifest of `directory` (the invalid ones listed in ``ManifestCatalog/invalid``).
    /// - Throws: `.usage` when the directory cannot be read.
    static func catalog(directory: String) throws(OperationError) -> ManifestCatalog {
        do {
            return try ManifestCatalog.loadValid(directory: directory)
        } catch {
            throw .usage("cannot read the providers directory \(directory) (--providers or TRIBUTARY_PROVIDERS)")
        }
    }

    /// The providers the manifests of `directory` describe, by id, the invalid ones with their problems.
    public static func summaries(directory: String) throws(OperationError) -> [ProviderSummary] {
        let catalog = try catalog(directory: directory)
        let valid = catalog.providers.values.map { provider in
            ProviderSummary(
                id: provider.id, name: provider.manifest.name, docs: provider.manifest.docs, webhooks: provider.manifest.webhooks != nil,
                scheme: provider.manifest.webhooks?.verification.scheme.rawValue, handshake: provider.manifest.webhooks?.handshake?.kind.rawValue
            )
        }
        let invalid = catalog.invalid.map { id, errors in
            ProviderSummary(id: id, name: "", docs: "", webhooks: false, problems: errors.errors.map(\.description))
        }
        return (valid + invalid).sorted { $0.id < $1.id }
    }

    /// Checks `files` (every `*.yaml`/`*.yml` of `directory` when empty) against the manifest schema.
    /// - Returns: how many files were read, and every problem found in them.
    public static func validate(files: [String], directory: String) throws(OperationError) -> (files: Int, problems: [ManifestProblem]) {
        var targets = files
        if targets.isEmpty {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
                throw .usage("cannot read providers directory \(directory)")
            }
            targets = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { directory + "/" + $0 }
        }
        var problems: [ManifestProblem] = []
        for file in targets {
            if case .failure(let failure) = ManifestCatalog.validate(file: file) {
                problems += failure.errors.map { ManifestProblem(file: $0.file, path: $0.path, reason: $0.reason, description: $0.description) }
            }
        }
        return (targets.count, problems)
    }
}
