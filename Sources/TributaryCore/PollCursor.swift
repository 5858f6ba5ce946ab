/// Where a poll of one (connection, resource) stands: committed with each page's events.
///
/// One struct serves the four cursor kinds; each uses its own fields. It is stored as
/// JSON in the store's cursor row, so adding a field later does not need a migration.
public struct PollCursor: Sendable, Equatable, Codable {
    /// Timestamp kinds: everything at or after this instant (µs) is still to be read next run.
    public var watermark: Int64?
    /// Keyset tie-breaker: at `watermark`, ids up to and including this one are read.
    public var afterId: String?
    /// Sync-token kind: the provider's change-log token.
    public var syncToken: String?
    /// Event-id kind: the last event read.
    public var lastEventId: String?
    /// The validator of the last full first page (`ETag`), for conditional requests.
    public var etag: String?
    /// The URL `etag` was answered for: it is sent only with a request for the same URL.
    public var etagURL: String?
    /// A run in progress (backfill or incremental) that has committed at least one page.
    public var run: Run?

    public struct Run: Sendable, Equatable, Codable {
        /// When the run began (µs, engine clock).
        public var startedAt: Int64
        /// The run never moves a watermark past this instant: its start minus the provider's lag.
        public var horizon: Int64
        /// The lower bound of this run's current query (µs): the watermark less lookback, moved up
        /// when a result cap restarts the query.
        public var since: Int64?
        /// The next page to read: an opaque page token or a `Link` URL.
        public var pageToken: String?
        /// The largest record time this run has seen at or below the horizon (µs).
        public var maxSeen: Int64?
        /// The id at `maxSeen` (largest, for keyset order).
        public var maxSeenId: String?
        public var pages: Int
        /// Pages read since `since` last moved (a provider result cap counts these).
        public var windowPages: Int
        /// Offset paging: how many items (or pages) the next request skips. With a timestamp cursor, the
        /// items already read at `position`.
        public var offset: Int?
        /// Offset paging of a timestamp cursor: the time (floored to the `since` parameter's precision)
        /// the next query starts at.
        public var position: Int64?

        public init(startedAt: Int64, horizon: Int64, since: Int64?) {
            self.startedAt = startedAt
            self.horizon = horizon
            self.since = since
            pages = 0
            windowPages = 0
        }
    }

    public init(watermark: Int64? = nil, afterId: String? = nil, syncToken: String? = nil, lastEventId: String? = nil, run: Run? = nil) {
        self.watermark = watermark
        self.afterId = afterId
        self.syncToken = syncToken
        self.lastEventId = lastEventId
        self.run = run
    }

    /// Whether nothing has ever been read: the next run is a backfill.
    public var isEmpty: Bool { watermark == nil && syncToken == nil && lastEventId == nil && run == nil }
}

/// How a resource's cursor moves: the pure state machine the poller executes.
public enum CursorKind: String, Sendable, Codable, CaseIterable {
    /// An `updated since` watermark, with lookback and a safe horizon. With an `afterId`
    /// parameter it is a `(timestamp, id)` keyset; without one, pages are followed by token or `Link`.
    case timestamp
    /// An opaque page token walking one full enumeration.
    case pageToken = "page-token"
    /// A change-log token (Microsoft Graph delta, Google sync tokens); expiry means a full resync.
    case syncToken = "sync-token"
    /// The id of the last event read from an event feed (Stripe `/v1/events`).
    case eventId = "event-id"
}

/// One item of a page, as the poller read it: what the cursor needs to move.
public struct PageItem: Sendable, Equatable {
    public var id: String
    /// The record's update time (µs), for timestamp cursors.
    public var updatedAt: Int64?

    public init(id: String, updatedAt: Int64?) {
        self.id = id
        self.updatedAt = updatedAt
    }
}

/// What one page answered, besides its items.
public struct PageOutcome: Sendable, Equatable {
    public var items: [PageItem]
    /// The provider says more pages follow (`has_more`, a next token, a `Link` next).
    public var hasMore: Bool
    /// The token or URL of the next page, when the provider gives one.
    public var nextPageToken: String?
    /// A new sync token (last page of a sync-token enumeration).
    public var syncToken: String?
    /// How many elements the page held, read or not (an item without an id is skipped, but offset
    /// paging must count it).
    public var elementCount: Int
    /// Offset paging: the number of results of the whole query, when the provider says.
    public var total: Int?

    public init(items: [PageItem], hasMore: Bool, nextPageToken: String? = nil, syncToken: String? = nil, elementCount: Int? = nil, total: Int? = nil) {
        self.items = items
        self.hasMore = hasMore
        self.nextPageToken = nextPageToken
        self.syncToken = syncToken
        self.elementCount = max(elementCount ?? items.count, items.count)
        self.total = total
    }
}

/// Something the poller should report about a page, though the run goes on safely.
public enum CursorAnomaly: Sendable, Equatable {
    /// The page was empty yet claimed more: the run stops instead of asking again forever.
    case emptyPageClaimedMore
    /// Items older than the cursor came back (repeats at a page boundary, or the provider went back).
    case itemsBehindCursor(count: Int)
    /// Every item of a full page shares one timestamp: without an id tie-breaker this would loop.
    case pageOfOneTimestamp
    /// A page claimed more but moved the cursor nowhere: asking again would return it again, so the run stops.
    case noProgress
    /// The sync token expired: the next run enumerates everything again.
    case syncTokenExpired
    /// The next request would repeat one the run already made (a page token or event id that leads
    /// back to a page already read): the run stops instead of asking forever.
    case repeatedRequest
    /// A page came back with exactly the previous page's items (a next link that changes on every
    /// call but leads to the same page): the run stops.
    case repeatedPage
    /// A full page came back with the sync token the run started from: the token is not moving,
    /// so the next run would read the same changes again.
    case syncTokenStalled
    /// This many runs in a row read at least a full page, logged nothing new and left the cursor where
    /// it was: the poll is re-reading the same items (a loop the guards did not catch, or a lookback
    /// window holding more than a page).
    case cursorStalled(runs: Int)
}

/// The pure rules of cursor movement for one resource.
public struct CursorMachine: Sendable, Equatable {
    public var kind: CursorKind
    /// Re-read this much before the watermark at the start of each run (µs).
    public var lookback: Int64
    /// The provider's indexing lag: a run never moves the watermark past its start minus this (µs).
    public var lag: Int64
    /// Whether the provider accepts an id tie-breaker with the timestamp (a true keyset).
    public var keyset: Bool
    /// The provider refuses to page past this many results of one query (HubSpot search: 10,000).
    public var resultCap: Int?
    public var pageSize: Int
    /// Offset paging, when the provider pages by offset (or page number) instead of a token.
    public var offset: OffsetPaging?
    /// The precision (µs) at which the provider compares the `since` parameter: a time written in
    /// Unix seconds is compared by the second.
    public var granule: Int64

    /// How the provider pages by offset.
    public struct OffsetPaging: Sendable, Equatable {
        /// True: the parameter is a page number; false: a number of items to skip.
        public var pages: Bool
        /// The first page's value (0 for an item offset, usually 1 for page numbers).
        public var first: Int

        public init(pages: Bool = false, first: Int = 0) {
            self.pages = pages
            self.first = first
        }
    }

    public init(
        kind: CursorKind, lookback: Int64 = 0, lag: Int64 = 0, keyset: Bool = false, resultCap: Int? = nil, pageSize: Int = 100,
        offset: OffsetPaging? = nil, granule: Int64 = 1
    ) {
        self.kind = kind
        self.lookback = lookback
        self.lag = lag
        self.keyset = keyset
        self.resultCap = resultCap
        self.pageSize = pageSize
        self.offset = offset
        self.granule = max(granule, 1)
    }

    /// `time` floored to the provider's precision (saturating near `Int64.min`).
    func floored(_ time: Int64) -> Int64 {
        let floor = time.floorDiv(granule)
        return floor < Int64.min / granule ? Int64.min : floor * granule
    }

    /// Begins a run, or resumes the one a crash interrupted (its committed page position is kept).
    public func begin(_ cursor: PollCursor, now: Int64) -> PollCursor {
        var next = cursor
        if next.run == nil {
            // Saturating: a watermark read from a page may sit anywhere in Int64 (an `integer`-format time).
            next.run = PollCursor.Run(startedAt: now, horizon: now - lag, since: cursor.watermark.map { $0 < Int64.min + lookback ? Int64.min : $0 - lookback })
        }
        return next
    }

    /// What the next request must carry.
    public func request(_ cursor: PollCursor) -> PageRequest {
        let run = cursor.run
        switch kind {
        case .timestamp:
            // A page token continues one query: its filter goes with every page (a search body repeats
            // it; a `Link` URL already carries it and is fetched as is).
            if let token = run?.pageToken { return PageRequest(since: run?.since, pageToken: token) }
            if keyset {
                // Resume from the highest key this run has committed, else from the watermark.
                if let seen = run?.maxSeen { return PageRequest(since: seen, afterId: run?.maxSeenId) }
                return PageRequest(since: run?.since, afterId: lookback == 0 ? cursor.afterId : nil)
            }
            if let offset {
                // Each query starts at the latest time read and skips what was read at that time.
                return PageRequest(since: run?.position ?? run?.since, offset: offset.first.adding(run?.offset ?? 0))
            }
            // No tie-breaker and no page token: move `since` up to what this run has seen (inclusive).
            return PageRequest(since: run?.maxSeen ?? run?.since)
        case .pageToken:
            if let offset { return PageRequest(offset: offset.first.adding(run?.offset ?? 0)) }
            return PageRequest(pageToken: run?.pageToken)
        case .syncToken:
            return PageRequest(pageToken: run?.pageToken, syncToken: run?.pageToken == nil ? cursor.syncToken : nil)
        case .eventId:
            return PageRequest(afterEventId: cursor.lastEventId)
        }
    }

    /// Moves the cursor past one page. Returns the cursor to commit with the page's events,
    /// whether the run is over, and anything worth reporting.
    public func advance(_ cursor: PollCursor, page: PageOutcome) -> (cursor: PollCursor, done: Bool, anomalies: [CursorAnomaly]) {
        var next = cursor
        var run = cursor.run ?? PollCursor.Run(startedAt: 0, horizon: .max, since: cursor.watermark)
        var anomalies: [CursorAnomaly] = []
        // Saturating: a cursor is read back from the database, and a corrupted row must not trap the poller.
        run.pages = run.pages == .max ? .max : run.pages + 1
        if offset == nil ? page.items.isEmpty : page.elementCount == 0, page.hasMore, page.nextPageToken == nil {
            anomalies.append(.emptyPageClaimedMore)
        }
        var done = !page.hasMore || anomalies.contains(.emptyPageClaimedMore)

        switch kind {
        case .timestamp:
            let before = (run.maxSeen, run.maxSeenId)
            var behind = 0
            var passedHorizon = false
            for item in page.items {
                guard let at = item.updatedAt else { continue }
                if at > run.horizon {
                    passedHorizon = true
                    continue
                }
                if let seen = run.maxSeen, (at, item.id) <= (seen, run.maxSeenId ?? "") {
                    if let since = run.since, at < since { behind += 1 } else if keyset { behind += 1 }
                    continue
                }
                run.maxSeen = at
                run.maxSeenId = item.id
            }
            let times = page.items.compactMap(\.updatedAt)
            if !keyset, offset == nil, page.hasMore, times.count > 1, Set(times).count == 1 { anomalies.append(.pageOfOneTimestamp) }
            if keyset || offset != nil, passedHorizon { done = true }
            if !keyset, offset != nil {
                // The next query starts at the latest time read, floored to what the provider compares,
                // and skips the items already read at that time: a clustered second pages through.
                let before = (run.position, run.offset ?? 0)
                var position = run.position ?? run.since.map(floored)
                var skipped = run.offset ?? 0
                for item in page.items {
                    guard let at = item.updatedAt else {
                        skipped = skipped.adding(1)
                        continue
                    }
                    let start = floored(at)
                    if let current = position, start < current {
                        // Out of the query's order: the provider does not sort by time ascending.
                        behind += 1
                    } else if start == position {
                        skipped = skipped.adding(1)
                    } else {
                        (position, skipped) = (start, 1)
                    }
                }
                // Elements without an id were skipped by the reader but hold places in the listing.
                skipped = skipped.adding(page.elementCount - page.items.count)
                if let total = page.total, before.1.adding(page.elementCount) >= total { done = true }
                (run.position, run.offset) = (position, skipped)
                if !done, page.hasMore, before == (run.position, skipped) {
                    anomalies.append(.noProgress)
                    done = true
                }
            }
            if behind > 0 { anomalies.append(.itemsBehindCursor(count: behind)) }
            if !keyset, offset == nil {
                run.pageToken = page.nextPageToken
                run.windowPages = run.windowPages == .max ? .max : run.windowPages + 1
                let nextEnd = (run.windowPages == .max ? run.windowPages : run.windowPages + 1).multipliedReportingOverflow(by: pageSize)
                if let cap = resultCap, run.pageToken != nil, nextEnd.overflow || nextEnd.partialValue > cap, run.maxSeen != nil {
                    // The next page would pass the provider's cap: restart the query from the latest time seen,
                    // and keep that bound for the new query's later pages.
                    run.pageToken = nil
                    run.windowPages = 0
                    run.since = run.maxSeen
                }
            }
            // Progress is a different next request: a new key (keyset), or a later `since` (no tie-breaker).
            let progressed = keyset
                ? before.0 != run.maxSeen || before.1 != run.maxSeenId
                : (run.maxSeen ?? run.since) != (before.0 ?? run.since)
            if !done, offset == nil, page.hasMore, page.nextPageToken == nil || keyset, !progressed, !page.items.isEmpty {
                // The next request would be this one again: stop and say why rather than loop.
                anomalies.append(.noProgress)
                done = true
            }
        case .pageToken:
            if let offset {
                let before = run.offset ?? 0
                run.offset = before.adding(offset.pages ? 1 : page.elementCount)
                let read = (offset.pages ? before.multiplied(pageSize) : before).adding(page.elementCount)
                if page.elementCount == 0 { done = true }
                if let total = page.total, read >= total { done = true }
            } else {
                run.pageToken = page.nextPageToken
                if page.nextPageToken == nil { done = true }
            }
        case .syncToken:
            run.pageToken = page.nextPageToken
            if let token = page.syncToken {
                if token == cursor.syncToken, page.items.count >= pageSize { anomalies.append(.syncTokenStalled) }
                next.syncToken = token
                done = true
            } else if page.nextPageToken == nil {
                done = true
            }
        case .eventId:
            if let last = page.items.last?.id { next.lastEventId = last }
        }

        if done {
            if kind == .timestamp, let seen = run.maxSeen {
                let current = (next.watermark ?? .min, next.afterId ?? "")
                let candidate = (seen, run.maxSeenId ?? "")
                if candidate > current {
                    next.watermark = candidate.0
                    next.afterId = keyset ? candidate.1 : nil
                }
            }
            next.run = nil
        } else {
            next.run = run
        }
        return (next, done, anomalies)
    }

    /// The provider said the sync token is no longer valid: forget it, so the next run re-enumerates.
    public func expire(_ cursor: PollCursor) -> (cursor: PollCursor, anomaly: CursorAnomaly) {
        var next = cursor
        next.syncToken = nil
        next.run = nil
        return (next, .syncTokenExpired)
    }
}

/// The cursor-dependent part of one page request.
public struct PageRequest: Sendable, Equatable {
    /// Lower bound (µs) for an `updated since` parameter.
    public var since: Int64?
    /// Keyset tie-breaker for `since`.
    public var afterId: String?
    /// An opaque page token, or a full `Link` URL to follow.
    public var pageToken: String?
    public var syncToken: String?
    public var afterEventId: String?
    /// Offset paging: the offset (or page number) to send.
    public var offset: Int?

    public init(since: Int64? = nil, afterId: String? = nil, pageToken: String? = nil, syncToken: String? = nil, afterEventId: String? = nil, offset: Int? = nil) {
        self.since = since
        self.afterId = afterId
        self.pageToken = pageToken
        self.syncToken = syncToken
        self.afterEventId = afterEventId
        self.offset = offset
    }
}

extension Int {
    /// `self + other`, stuck at the ends instead of trapping: offsets are read back from a cursor row,
    /// and a corrupted one must not trap the poller.
    func adding(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// `self × other`, stuck at the ends instead of trapping.
    func multiplied(_ other: Int) -> Int {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) == (other < 0) ? .max : .min) : product
    }
}
