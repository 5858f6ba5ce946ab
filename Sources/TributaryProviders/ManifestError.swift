/// One problem with a manifest: which file, where inside it (a JSON Pointer), and why.
public struct ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var path: String
    public var reason: String

    public init(file: String = "", path: String, reason: String) {
        self.file = file
        self.path = path
        self.reason = reason
    }

    public var description: String {
        "\(file.isEmpty ? "" : file + ": ")\(path.isEmpty ? "/" : path): \(reason)"
    }
}

/// Every problem found in a set of manifests; thrown when a catalog cannot load.
public struct ManifestErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ManifestError]

    public init(errors: [ManifestError]) {
        self.errors = errors
    }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
