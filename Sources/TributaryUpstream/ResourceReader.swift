public import Logging
public import TributaryCore
public import TributaryProviders

/// Reads one polled resource of one connection page by page, from a cursor: what a poll run and a
/// full sweep share. It never writes; the caller commits each batch of pages (and renews its lease).
public struct ResourceReader: Sendable {
    public let resource: PollResource
    public let client: UpstreamClient
    public let connection: Connection
    let now: @Sendable () -> Int64

    public init(resource: PollResource, client: UpstreamClient, connection: Connection, now: @escaping @Sendable () -> Int64) {
        self.resource = resource
        self.client = client
        self.connection = connection
        self.now = now
    }

    /// How a read ended other than by its cursor saying so.
    public enum Ending: Sendable, Equatable {
        case notModified
        case expired(PollCursor, CursorAnomaly)
        /// The next request would repeat one this read already made: the provider answered a page that
        /// leads back to itself (the same page token, the same last event id), so the read stops.
        case repeated(CursorAnomaly)

        public var anomaly: CursorAnomaly? {
            switch self {
            case .notModified: return nil
            case .expired(_, let anomaly), .repeated(let anomaly): return anomaly
            }
        }
    }

    /// One page, parsed, with the cursor that follows it.
    public typealias Page = PageQueue.Page

    /// The fetching side: requests page after page from the cursor, parses each and queues it.
    func fetchPages(from start: PollCursor, maxPages: Int, priority: RequestPriority, queue: PageQueue, logger: Logger) async throws -> Ending? {
        var cursor = start
        var pages = 0
        // Every request this read made, whatever the cursor kind: a next request identical to one of them
        // would be answered with the same page again, and again.
        var made = Set<[UInt8]>()
        var previousItems: [String] = []
        while pages < maxPages {
            let request = try resource.request(for: cursor, client: client, account: connection.account)
            guard made.insert(Array((request.method + " " + request.url + "\n").utf8) + (request.body ?? [])).inserted else {
                logger.warning("read stopped: the next request repeats one already made in this run")
                return .repeated(.repeatedRequest)
            }
            let response = try await client.send(request, priority: priority, logger: logger)
            let receivedAt = now()
            // The page's read fence: when the request that answered was sent, not when it began
            // waiting for the limiter (a sweep page may wait minutes, and retry).
            let requestedAt = response.sentAt ?? receivedAt
            if response.status == 304 { return .notModified }
            if resource.machine.kind == .syncToken, (resource.spec.cursor.expiry ?? [410]).contains(response.status) {
                var (expired, anomaly) = resource.machine.expire(cursor)
                // Asana answers a missing or expired sync token with 412 and a fresh token in the body: the
                // next run starts from it (the changes before it are gone, which the anomaly reports).
                if let pointer = resource.next.syncToken, let document = JSONValue(parsing: response.body),
                   let token = pointer.resolve(in: document)?.stringValue, !token.isEmpty {
                    expired.syncToken = token
                }
                return .expired(expired, anomaly)
            }
            guard (200..<300).contains(response.status) else {
                throw PollError("\(resource.name): provider answered HTTP \(response.status)")
            }
            let page = try resource.parse(response, connection: connection.id, tenant: connection.tenant, requestedAt: requestedAt, receivedAt: receivedAt)
            // A next link that changes every time (`?page=2&n=<counter>`) passes the request check; a page whose
            // items are exactly the previous page's does not: no real listing serves one page twice in a row.
            let items = page.outcome.items.map { "\($0.id)\u{0}\($0.updatedAt.map(String.init) ?? "")" }
            if !items.isEmpty, items == previousItems {
                logger.warning("read stopped: a page repeated the previous page's items")
                return .repeated(.repeatedPage)
            }
            previousItems = items
            var step = resource.machine.advance(cursor, page: page.outcome)
            if pages == 0, resource.spec.conditional == "etag", let etag = response.header("ETag") {
                (step.cursor.etag, step.cursor.etagURL) = (etag, PollResource.etagKey(request.url))
            }
            cursor = step.cursor
            pages += 1
            await queue.push(PageQueue.Page(drafts: page.drafts, cursor: step.cursor, anomalies: step.anomalies, receivedAt: receivedAt))
            if step.done || queue.isAbandoned { break }
        }
        return nil
    }

    /// Fetches pages from `start` ahead of their commits and hands whatever has queued to `commit`
    /// in one call (one transaction).
    ///
    /// The next page depends only on the cursor, not on the commit of this one: the fetching side
    /// runs ahead (up to 8 pages) while the committing side writes. When `commit` throws, the
    /// fetching side stops and the error is rethrown.
    public func pipeline(
        from start: PollCursor, maxPages: Int, priority: RequestPriority, logger: Logger,
        commit: ([Page]) async throws -> Void
    ) async throws -> Ending? {
        let queue = PageQueue(limit: 8)
        return try await withThrowingTaskGroup(of: Ending?.self) { group in
            group.addTask {
                defer { queue.finish() }
                return try await self.fetchPages(from: start, maxPages: maxPages, priority: priority, queue: queue, logger: logger)
            }
            while true {
                let pages = await queue.takeAll()
                guard !pages.isEmpty else { break }
                do {
                    try await commit(pages)
                } catch {
                    queue.abandon()
                    throw error
                }
                queue.committed(pages.count)
            }
            var ending: Ending?
            for try await result in group where result != nil { ending = result }
            return ending
        }
    }
}
