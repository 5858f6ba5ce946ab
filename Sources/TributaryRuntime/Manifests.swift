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

    public var json: JSONValue {
        .object([
            ("id", .string(id)), ("name", .string(name)), ("docs", .string(docs)), ("webhooks", .bool(webhooks)),
            ("scheme", scheme.map(JSONValue.string) ?? .null), ("handshake", handshake.map(JSONValue.string) ?? .null),
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
    /// Loads every manifest of `directory`, or says which are invalid and why (a usage error).
    static func catalog(directory: String) throws(OperationError) -> ManifestCatalog {
        do {
            return try ManifestCatalog.load(directory: directory)
        } catch {
            throw .usage("provider manifests in \(directory) are invalid:\n" + error.description)
        }
    }

    /// The providers the manifests of `directory` describe, by id.
    public static func summaries(directory: String) throws(OperationError) -> [ProviderSummary] {
        try catalog(directory: directory).providers.values.sorted { $0.id < $1.id }.map { provider in
            ProviderSummary(
                id: provider.id, name: provider.manifest.name, docs: provider.manifest.docs, webhooks: provider.manifest.webhooks != nil,
                scheme: provider.manifest.webhooks?.verification.scheme.rawValue, handshake: provider.manifest.webhooks?.handshake?.kind.rawValue
            )
        }
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
