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
    /// The query parameters of every request, templates parsed (`query`, in order).
    package let query: [(name: String, value: ValueTemplate)]
    /// The POST body template, parsed.
    package let body: ValueTemplate?

    package struct Next: Sendable {
        package var link: Bool
        package var token: JSONPointer?
        package var hasMore: JSONPointer?
        package var endOfStream: JSONPointer?
        package var syncToken: JSONPointer?
        package var total: JSONPointer?
        /// Offset paging: the parameter that carries it (`nil`: only a template does).
        package var offsetParam: String?
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
            state: try pointer(spec.state, "/state"),
            incarnation: try pointer(spec.incarnation?.pointer, "/incarnation/pointer").map { ($0, spec.incarnation!.format) }
        )
        next = Next(
            link: spec.next.link != nil,
            token: try pointer(spec.next.token, "/next/token"),
            hasMore: try pointer(spec.next.hasMore, "/next/hasMore"),
            endOfStream: try pointer(spec.next.endOfStream, "/next/endOfStream"),
            syncToken: try pointer(spec.next.syncToken, "/next/syncToken"),
            total: try pointer(spec.next.total, "/next/total"),
            offsetParam: spec.next.offset?.param
        )
        var query: [(name: String, value: ValueTemplate)] = []
        for (index, entry) in (spec.query?.entries ?? []).enumerated() {
            switch ValueTemplate.parse(entry.value) {
            case .success(let template): query.append((entry.name, template))
            case .failure(let unknown):
                let at = spec.query.map { _ in "/query/\(index)/value" } ?? "/query"
                throw ManifestError(path: base + at, reason: "unknown placeholder {\(unknown.name)}; known: \(ValueTemplate.names.sorted().map { "{\($0)}" }.joined(separator: " "))")
            }
        }
        self.query = query
        switch spec.body.map({ ValueTemplate.parse($0) }) {
        case .success(let template)?: body = template
        case .failure(let unknown)?:
            throw ManifestError(path: base + "/body", reason: "unknown placeholder {\(unknown.name)}; known: \(ValueTemplate.names.sorted().map { "{\($0)}" }.joined(separator: " "))")
        case nil: body = nil
        }
        // A value the poller fills in goes as its parameter, or where a template names it; one with
        // neither would never reach the provider.
        let templated = query.reduce(into: body?.placeholders ?? []) { $0.formUnion($1.value.placeholders) }
        func reaches(_ param: ProviderManifest.Resource.Param?, _ path: String, _ names: Set<String>) throws(ManifestError) {
            guard let param, param.param == nil, templated.isDisjoint(with: names) else { return }
            throw ManifestError(path: base + path, reason: "has no param, and no query value or body uses \(names.sorted().map { "{\($0)}" }.joined(separator: " or "))")
        }
        try reaches(spec.cursor.since, "/cursor/since", ["since", "since_ms", "since_s"])
        try reaches(spec.cursor.afterId, "/cursor/afterId", ["after_id"])
        try reaches(spec.cursor.pageToken, "/cursor/pageToken", ["after", "after_json"])
        try reaches(spec.cursor.syncToken, "/cursor/syncToken", ["sync_token"])
        try reaches(spec.cursor.eventId, "/cursor/eventId", ["event_id"])
        if let offset = spec.next.offset, offset.param == nil, !templated.contains("offset") {
            throw ManifestError(path: base + "/next/offset", reason: "has no param, and no query value or body uses {offset}")
        }
        if spec.next.total != nil, spec.next.offset == nil {
            throw ManifestError(path: base + "/next/total", reason: "a total needs offset paging (next.offset)")
        }
        guard let kind = CursorKind(rawValue: spec.cursor.kind) else {
            throw ManifestError(path: base + "/cursor/kind", reason: "unknown cursor kind \(spec.cursor.kind)")
        }
        switch kind {
        case .timestamp:
            guard spec.cursor.since != nil || spec.body != nil else { throw ManifestError(path: base + "/cursor/since", reason: "a timestamp cursor needs a since parameter (or a body template)") }
            guard updatedAt != nil else { throw ManifestError(path: base + "/updatedAt", reason: "a timestamp cursor needs each item's updatedAt") }
            if let offset = spec.next.offset {
                guard spec.cursor.afterId == nil else {
                    throw ManifestError(path: base + "/next/offset", reason: "a keyset (cursor.afterId) and offset paging exclude each other: use one")
                }
                guard offset.unit != .pages else {
                    throw ManifestError(path: base + "/next/offset/unit", reason: "a timestamp cursor pages by items within a time, not by page numbers")
                }
            }
        case .eventId:
            guard spec.cursor.eventId != nil else { throw ManifestError(path: base + "/cursor/eventId", reason: "an event-id cursor needs its parameter") }
        case .syncToken:
            guard next.syncToken != nil else { throw ManifestError(path: base + "/next/syncToken", reason: "a sync-token cursor needs to know where the new token is") }
        case .pageToken:
            guard next.token != nil || next.link || spec.next.offset != nil else {
                throw ManifestError(path: base + "/next", reason: "a page-token cursor needs next.token, next.link or next.offset")
            }
        }
        if spec.next.offset != nil, kind == .eventId || kind == .syncToken {
            throw ManifestError(path: base + "/next/offset", reason: "offset paging is for timestamp and page-token cursors")
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
            pageSize: spec.pageSize?.value ?? 100,
            offset: spec.next.offset.map { .init(pages: $0.unit == .pages, first: $0.first ?? ($0.unit == .pages ? 1 : 0)) },
            granule: (spec.cursor.since?.format ?? .rfc3339).granule
        )
    }
}
