public import TributaryCore

/// A manifest's `api.fetch` compiled once, as poll resources are: its pointers parsed at load, so a
/// wrong one is a manifest error with its path (`providers validate` reports it), never a silent nil.
public struct FetchResource: Sendable {
    public let spec: ProviderManifest.API.Fetch
    let state: JSONPointer
    let version: (JSONPointer, ProviderManifest.TimeFormat)?
    let deleted: (JSONPointer, [String])?

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
        state = try pointer(spec.state, "/state") ?? JSONPointer("")!
        version = try pointer(spec.version?.pointer, "/version/pointer").map { ($0, spec.version!.format) }
        deleted = try pointer(spec.deleted?.pointer, "/deleted/pointer").map { ($0, spec.deleted!.equals) }
    }

    /// What a fetched document says of its record: the state (where `state` points, else the
    /// whole document) as bytes, its version, and whether it is deleted.
    public func read(_ document: JSONValue) -> (state: [UInt8], version: Int64?, deleted: Bool) {
        let state = Array((state.resolve(in: document) ?? document).jsonText.utf8)
        let version = version.flatMap { pointer, format in pointer.resolve(in: document)?.stringValue.flatMap(format.microseconds) }
        let deleted = deleted.map { pointer, values in pointer.resolve(in: document)?.stringValue.map(values.contains) ?? false } ?? false
        return (state, version, deleted)
    }
}
