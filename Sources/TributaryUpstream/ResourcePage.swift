import Foundation
public import TributaryCore
public import TributaryProviders

/// One page turned into what the cursor needs and what the log stores.
public struct ParsedPage: Sendable {
    public var outcome: PageOutcome
    public var drafts: [EventDraft]
}

extension PollResource {
    /// The HTTP request for the cursor's next page.
    /// - Throws: ``PollError`` when the connection's account cannot be a path (`../`, an empty segment).
    public func request(for cursor: PollCursor, client: UpstreamClient, account: String?) throws(PollError) -> UpstreamRequest {
        let page = machine.request(cursor)
        let path: String
        switch URLTemplate.fillPath(spec.path, account: account ?? "") {
        case .success(let filled): path = filled
        case .failure(let error): throw PollError("resource \(name): \(error.reason)")
        }
        // A token that is a URL (a Link header, an @odata.nextLink or deltaLink) is fetched as given.
        for token in [page.pageToken, page.syncToken].compactMap({ $0 }) where token.hasPrefix("http://") || token.hasPrefix("https://") {
            return UpstreamRequest(method: spec.method ?? "GET", url: client.url(token), headers: [("Accept", "application/json")])
        }
        var query: [(String, String)] = (spec.query ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if let size = spec.pageSize, let param = size.param { query.append((param, String(size.value))) }
        let cursorSpec = spec.cursor
        if let since = page.since, let param = cursorSpec.since {
            query.append((param.param, Self.format(since, param.format ?? .rfc3339)))
        } else if page.since == nil, page.pageToken == nil, page.syncToken == nil, let initial = cursorSpec.initial, let param = cursorSpec.since {
            query.append((param.param, initial))
        }
        if let after = page.afterId, let param = cursorSpec.afterId { query.append((param.param, after)) }
        if let token = page.pageToken, let param = cursorSpec.pageToken, spec.body == nil { query.append((param.param, token)) }
        if let token = page.syncToken, let param = cursorSpec.syncToken { query.append((param.param, token)) }
        if let event = page.afterEventId, let param = cursorSpec.eventId { query.append((param.param, event)) }
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        if spec.conditional == "etag", page.pageToken == nil, let etag = cursor.etag { headers.append(("If-None-Match", etag)) }
        var body: [UInt8]?
        if let template = spec.body {
            let sinceMicros = page.since ?? 0
            let filled = template
                .replacingOccurrences(of: "{since_ms}", with: String(sinceMicros / 1000))
                .replacingOccurrences(of: "{since}", with: Timestamp.rfc3339(microseconds: sinceMicros))
                .replacingOccurrences(of: "{after}", with: page.pageToken ?? "0")
                .replacingOccurrences(of: "{limit}", with: String(spec.pageSize?.value ?? 100))
            body = Array(filled.utf8)
            headers.append(("Content-Type", "application/json"))
        }
        return UpstreamRequest(method: spec.method ?? "GET", url: client.url(path, query: query), headers: headers, body: body)
    }

    static func format(_ micros: Int64, _ format: ProviderManifest.TimeFormat) -> String {
        switch format {
        case .unixSeconds: return String(micros.floorDiv(1_000_000))
        case .unixMilliseconds: return String(micros.floorDiv(1000))
        case .integer: return String(micros)
        case .rfc3339: return Timestamp.rfc3339(microseconds: micros)
        }
    }

    /// Reads a response into page items and event drafts.
    /// - Parameter requestedAt: when the page's request was issued: each draft's read fence.
    /// - Throws: ``PollError`` when the body is not what the manifest says.
    public func parse(
        _ response: UpstreamResponse, connection: String, tenant: String, requestedAt: Int64, receivedAt: Int64
    ) throws(PollError) -> ParsedPage {
        guard let document = JSONValue(parsing: response.body) else { throw PollError("response of \(name) is not JSON") }
        guard case .array(let elements)? = items.resolve(in: document) else {
            throw PollError("response of \(name) has no array at \(items.description.isEmpty ? "the root" : items.description)")
        }
        var pageItems: [PageItem] = []
        var drafts: [EventDraft] = []
        for element in elements {
            if let extractor = eventExtractor {
                let text = Array(element.jsonText.utf8)
                let request = WebhookRequest(method: "GET", url: "", headers: [], body: text)
                let event: ExtractedEvent
                switch extractor.extract(request) {
                case .success(let extracted): event = extracted
                case .failure(let failure):
                    // An item the manifest cannot read (no id, a time out of range) is kept, quarantined, not dropped.
                    drafts.append(EventDraft(
                        connection: connection, tenant: tenant, provider: provider, source: .poll,
                        eventId: EventID.quarantined(bodySHA256: request.bodySHA256), type: nil, record: nil, occurredAt: nil,
                        receivedAt: receivedAt, status: .quarantined, reason: "unreadable: \(failure.reason)", headers: [], body: text, url: nil
                    ))
                    continue
                }
                pageItems.append(PageItem(id: event.eventId, updatedAt: event.occurredAt))
                drafts.append(EventDraft(
                    connection: connection, tenant: tenant, provider: provider, source: .poll, eventId: event.eventId,
                    type: event.type, record: event.record, occurredAt: event.occurredAt, receivedAt: receivedAt,
                    // An item of an event feed is a delivery read late, not a read of the record: no fence.
                    headers: [], body: text, url: nil
                ))
                continue
            }
            let seen = observations.read(element)
            guard let recordID = seen.recordId else { continue }
            pageItems.append(PageItem(id: recordID, updatedAt: seen.updatedAt))
            drafts.append(EventDraft(
                connection: connection, tenant: tenant, provider: provider, source: .poll,
                eventId: EventID.polled(recordType: spec.recordType, recordId: recordID, tag: seen.tag),
                type: "\(spec.recordType).\(seen.deleted ? "deleted" : "observed")",
                record: seen.record(spec.recordType, id: recordID),
                occurredAt: seen.updatedAt, receivedAt: receivedAt, headers: [], body: seen.state, url: nil, readFence: requestedAt
            ))
        }
        if machine.kind == .eventId, spec.cursor.order == "descending" {
            // A newest-first feed (Stripe /v1/events) is logged oldest first, as the events happened.
            pageItems.reverse()
            drafts.reverse()
        }
        return ParsedPage(outcome: outcome(response, document: document, items: pageItems), drafts: drafts)
    }

    func outcome(_ response: UpstreamResponse, document: JSONValue, items: [PageItem]) -> PageOutcome {
        var nextToken = next.token.flatMap { $0.resolve(in: document)?.stringValue }.flatMap { $0.isEmpty ? nil : $0 }
        if next.link, let link = response.header("Link").flatMap(Self.nextLink) { nextToken = link }
        var syncToken = next.syncToken.flatMap { $0.resolve(in: document)?.stringValue }.flatMap { $0.isEmpty ? nil : $0 }
        var hasMore = nextToken != nil
        if let pointer = next.hasMore { hasMore = pointer.resolve(in: document) == .bool(true) }
        if let pointer = next.endOfStream {
            let ended = pointer.resolve(in: document) == .bool(true)
            hasMore = !ended
            if ended { nextToken = nil } else { syncToken = nil }
        }
        if machine.kind == .syncToken, syncToken != nil, next.endOfStream == nil, nextToken != nil { syncToken = nil }
        return PageOutcome(items: items, hasMore: hasMore, nextPageToken: nextToken, syncToken: syncToken)
    }

    /// The `rel="next"` target of a `Link` header.
    static func nextLink(_ header: String) -> String? {
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";")
            guard let target = pieces.first, pieces.dropFirst().contains(where: {
                let p = $0.replacingOccurrences(of: " ", with: "")
                return p == "rel=\"next\"" || p == "rel=next"
            }) else { continue }
            let trimmed = target.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("<"), trimmed.hasSuffix(">") else { continue }
            return String(trimmed.dropFirst().dropLast())
        }
        return nil
    }
}

/// A page that could not be requested or read (a poll's or a sweep's), with one sentence saying why.
public struct PollError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
