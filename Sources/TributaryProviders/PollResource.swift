public import TributaryCore

/// A manifest resource compiled once: pointers parsed, the cursor machine chosen, the rules checked.
public struct PollResource: Sendable {
    public let provider: String
    public let spec: ProviderManifest.Resource
    public let machine: CursorMachine
    package let items: JSONPointer
    /// How each item (a record) is read; for an event feed, only its cursor's update time.
    public let observations: ObservationReader
    package let next: Next
    /// Webhook rules that read items of an event feed (`events: true`).
    package let eventExtractor: EventExtractor?

    package struct Next: Sendable {
        package var link: Bool
        package var token: JSONPointer?
        package var hasMore: JSONPointer?
        package var endOfStream: JSONPointer?
        package var syncToken: JSONPointer?
    }

    public var name: String { spec.name }
    public var interval: Duration { .seconds(spec.interval ?? 300) }
    /// How often the resource is swept (manifest `sweep.interval`, default daily).
    public var sweepInterval: Duration { .seconds(spec.sweep?.interval ?? 86_400) }

    /// Compiles `spec` of `provider`.
    /// - Throws: ``ManifestError`` with the path inside the manifest of what is wrong.
    init(manifest: ProviderManifest, extractor: EventExtractor?, index: Int) throws(ManifestError) {
        guard let resources = manifest.poll?.resources, resources.indices.contains(index) else {
            throw ManifestError(path: "/poll/resources/\(index)", reason: "no such resource")
        }
        let spec = resources[index]
        let base = "/poll/resources/\(index)"
        func pointer(_ text: String?, _ path: String) throws(ManifestError) -> JSONPointer? {
            guard let text else { return nil }
            guard let parsed = JSONPointer(text) else { throw ManifestError(path: base + path, reason: "\"\(text)\" is not a JSON Pointer") }
            return parsed
        }
        provider = manifest.id
        self.spec = spec
        items = try pointer(spec.items, "/items") ?? JSONPointer("")!
        let id = try pointer(spec.id, "/id")
        let updatedAt = try pointer(spec.updatedAt?.pointer, "/updatedAt/pointer").map { ($0, spec.updatedAt!.format) }
        observations = ObservationReader(
            id: id,
            version: try pointer(spec.version?.pointer, "/version/pointer").map { ($0, spec.version!.format) },
            updatedAt: updatedAt,
            deleted: try pointer(spec.deleted?.pointer, "/deleted/pointer").map { ($0, spec.deleted!.equals) },
            state: try pointer(spec.state, "/state")
        )
        next = Next(
            link: spec.next.link != nil,
            token: try pointer(spec.next.token, "/next/token"),
            hasMore: try pointer(spec.next.hasMore, "/next/hasMore"),
            endOfStream: try pointer(spec.next.endOfStream, "/next/endOfStream"),
            syncToken: try pointer(spec.next.syncToken, "/next/syncToken")
        )
        guard let kind = CursorKind(rawValue: spec.cursor.kind) else {
            throw ManifestError(path: base + "/cursor/kind", reason: "unknown cursor kind \(spec.cursor.kind)")
        }
        switch kind {
        case .timestamp:
            guard spec.cursor.since != nil || spec.body != nil else { throw ManifestError(path: base + "/cursor/since", reason: "a timestamp cursor needs a since parameter (or a body template)") }
            guard updatedAt != nil else { throw ManifestError(path: base + "/updatedAt", reason: "a timestamp cursor needs each item's updatedAt") }
        case .eventId:
            guard spec.cursor.eventId != nil else { throw ManifestError(path: base + "/cursor/eventId", reason: "an event-id cursor needs its parameter") }
        case .syncToken:
            guard next.syncToken != nil else { throw ManifestError(path: base + "/next/syncToken", reason: "a sync-token cursor needs to know where the new token is") }
        case .pageToken:
            guard next.token != nil || next.link else { throw ManifestError(path: base + "/next", reason: "a page-token cursor needs next.token or next.link") }
        }
        if spec.events == true {
            guard let extractor else {
                throw ManifestError(path: base + "/events", reason: "events: true needs a webhooks section to read the events with")
            }
            eventExtractor = extractor
        } else {
            guard id != nil else { throw ManifestError(path: base + "/id", reason: "each item needs an id pointer") }
            eventExtractor = nil
        }
        // The schema bounds these; checked again here so that no manifest, however it was decoded, can trap.
        func seconds(_ value: Int?, _ path: String, _ range: ClosedRange<Int64>) throws(ManifestError) -> Int64 {
            switch ExternalNumber.scaled(String(value ?? 0), by: 1_000_000, within: range.lowerBound * 1_000_000...range.upperBound * 1_000_000) {
            case .success(let micros): return micros
            case .failure: throw ManifestError(path: base + path, reason: "must be between \(range.lowerBound) and \(range.upperBound) seconds")
            }
        }
        if let interval = spec.interval, !(1...604_800).contains(interval) {
            throw ManifestError(path: base + "/interval", reason: "must be between 1 and 604800 seconds")
        }
        if let size = spec.pageSize?.value, !(1...10_000).contains(size) {
            throw ManifestError(path: base + "/pageSize/value", reason: "must be between 1 and 10000")
        }
        machine = CursorMachine(
            kind: kind,
            lookback: try seconds(spec.cursor.lookback, "/cursor/lookback", 0...2_592_000),
            lag: try seconds(spec.cursor.lag, "/cursor/lag", 0...86_400),
            keyset: spec.cursor.afterId != nil,
            resultCap: spec.cursor.resultCap,
            pageSize: spec.pageSize?.value ?? 100
        )
    }
}
