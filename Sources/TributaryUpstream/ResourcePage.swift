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
        // A page token that is a path (Salesforce's nextRecordsUrl) is followed under the base URL when the
        // manifest has nowhere else to send it (no pageToken parameter, no placeholder, no body).
        let tokenIsPath = { (token: String) in
            token.hasPrefix("/") && !token.hasPrefix("//") && self.spec.cursor.pageToken == nil && self.body == nil
                && !self.query.contains { !$0.value.placeholders.isDisjoint(with: ["after", "after_json"]) }
        }
        // A token that is a URL (a Link header, an @odata.nextLink or deltaLink) is fetched as given.
        let followed = [page.pageToken, page.syncToken].compactMap { $0 }.first { $0.hasPrefix("http://") || $0.hasPrefix("https://") }
            ?? page.pageToken.flatMap { tokenIsPath($0) ? $0 : nil }
        if let followed {
            return UpstreamRequest(method: spec.method ?? "GET", url: client.url(followed), headers: [("Accept", "application/json")])
        }
        var values = placeholderValues(page, cursor: cursor)
        values["account"] = account
        var query: [(String, String)] = self.query.compactMap { entry in entry.value.render(values).map { (entry.name, $0) } }
        if let size = spec.pageSize, let param = size.param { query.append((param, String(size.value))) }
        let cursorSpec = spec.cursor
        let params: [(String?, String)] = [
            (cursorSpec.since?.param, "since"), (cursorSpec.afterId?.param, "after_id"),
            (spec.body == nil ? cursorSpec.pageToken?.param : nil, "after"), (cursorSpec.syncToken?.param, "sync_token"),
            (cursorSpec.eventId?.param, "event_id"), (next.offsetParam, "offset"),
        ]
        for case (let param?, let name) in params {
            if let value = values[name] { query.append((param, value)) }
        }
        let url = client.url(path, query: query)
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        // An ETag validates the representation of one URL: it goes only with a request for that URL.
        if spec.conditional == "etag", page.pageToken == nil, let etag = cursor.etag, cursor.etagURL == Self.etagKey(url) {
            headers.append(("If-None-Match", etag))
        }
        var body: [UInt8]?
        if let template = self.body {
            // The body's historical defaults: a search from the epoch, page token "0".
            var bodyValues = values
            bodyValues["since_ms"] = bodyValues["since_ms"] ?? "0"
            bodyValues["since_s"] = bodyValues["since_s"] ?? "0"
            bodyValues["since"] = bodyValues["since"] ?? Timestamp.rfc3339(microseconds: 0)
            bodyValues["after"] = bodyValues["after"] ?? "0"
            let filled = template.render(bodyValues) { name, value in name == "after_json" ? value : ValueTemplate.jsonEscaped(value) }
            body = Array((filled ?? "").utf8)
            headers.append(("Content-Type", "application/json"))
        }
        return UpstreamRequest(method: spec.method ?? "GET", url: url, headers: headers, body: body)
    }

    /// What the cursor's next request fills in: each placeholder's text, absent when this request has
    /// no value for it (a query entry naming it is then left out).
    func placeholderValues(_ page: PageRequest, cursor: PollCursor) -> [String: String] {
        let cursorSpec = spec.cursor
        let sinceFormat = cursorSpec.since?.format ?? .rfc3339
        var values: [String: String] = ["limit": String(spec.pageSize?.value ?? 100)]
        if let since = page.since {
            values["since"] = Self.format(since, sinceFormat)
            values["since_ms"] = String(since.floorDiv(1000))
            values["since_s"] = String(since.floorDiv(1_000_000))
        } else if page.pageToken == nil, page.syncToken == nil, machine.kind == .timestamp || machine.kind == .syncToken, let initial = cursorSpec.initial {
            // The first request of a run from an empty cursor.
            values["since"] = initial
        }
        if let watermark = cursor.watermark { values["watermark"] = Self.format(watermark, sinceFormat) }
        values["after_id"] = page.afterId
        // The page token, or on the first page of a page-token enumeration its `initial`.
        let after = page.pageToken
            ?? (machine.kind == .pageToken && machine.offset == nil && (cursor.run?.pages ?? 0) == 0 ? cursorSpec.initial : nil)
        values["after"] = after
        values["after_json"] = after.map { JSONValue.string($0).jsonText } ?? "null"
        values["sync_token"] = page.syncToken
        values["event_id"] = page.afterEventId ?? (machine.kind == .eventId ? cursorSpec.initial : nil)
        values["offset"] = page.offset.map(String.init)
        return values
    }

    /// What a cursor keeps of the URL its ETag was answered for: a digest, so that a token in the
    /// query (`auth.style: query`) is never stored in the cursor.
    package static func etagKey(_ url: String) -> String {
        StateTag.of(version: nil, state: Array(url.utf8))
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
        return ParsedPage(outcome: outcome(response, document: document, items: pageItems, elementCount: elements.count), drafts: drafts)
    }

    func outcome(_ response: UpstreamResponse, document: JSONValue, items: [PageItem], elementCount: Int) -> PageOutcome {
        var nextToken = next.token.flatMap { $0.resolve(in: document)?.stringValue }.flatMap { $0.isEmpty ? nil : $0 }
        if next.link, let link = response.header("Link").flatMap(Self.nextLink) { nextToken = link }
        var syncToken = next.syncToken.flatMap { $0.resolve(in: document)?.stringValue }.flatMap { $0.isEmpty ? nil : $0 }
        var hasMore = nextToken != nil
        var total: Int?
        if machine.offset != nil {
            // Offset paging: a full page may have more after it; a total (read by the cursor) says exactly.
            hasMore = elementCount >= machine.pageSize
            total = next.total.flatMap { $0.resolve(in: document)?.stringValue }.flatMap { Int($0) }
        }
        if let pointer = next.hasMore { hasMore = pointer.resolve(in: document) == .bool(true) }
        if let pointer = next.endOfStream {
            let ended = pointer.resolve(in: document) == .bool(true)
            hasMore = !ended
            if ended { nextToken = nil } else { syncToken = nil }
        }
        if machine.kind == .syncToken, syncToken != nil, next.endOfStream == nil, nextToken != nil { syncToken = nil }
        return PageOutcome(items: items, hasMore: hasMore, nextPageToken: nextToken, syncToken: syncToken, elementCount: elementCount, total: total)
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
