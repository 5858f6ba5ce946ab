import TributaryCore

/// A manifest's `api.fetch` compiled once, as poll resources are: its pointers parsed at load, so a
/// wrong one is a manifest error with its path (`providers validate` reports it), never a silent nil.
public struct FetchResource: Sendable {
    public let spec: ProviderManifest.API.Fetch
    /// How a fetched record is read (the same rule as a listed one; a fetch has no id or update time to read).
    public let observations: ObservationReader

    /// Statuses that mean the record is gone (a tombstone): the manifest's `gone`, default 404 and 410.
    public var gone: [Int] { spec.gone ?? [404, 410] }

    /// The path template for `recordType`.
    public func path(for recordType: String) -> String { spec.path(for: recordType) }

    init(_ spec: ProviderManifest.API.Fetch) throws(ManifestError) {
        func pointer(_ text: String?, _ path: String) throws(ManifestError) -> JSONPointer? {
            guard let text else { return nil }
            guard let parsed = JSONPointer(text) else { throw ManifestError(path: "/api/fetch" + path, reason: "\"\(text)\" is not a JSON Pointer") }
            return parsed
        }
        self.spec = spec
        observations = ObservationReader(
            id: nil,
            version: try pointer(spec.version?.pointer, "/version/pointer").map { ($0, spec.version!.format) },
            updatedAt: nil,
            deleted: try pointer(spec.deleted?.pointer, "/deleted/pointer").map { ($0, spec.deleted!.equals) },
            state: try pointer(spec.state, "/state")
        )
    }
}
