import Foundation
public import Logging
public import TributaryCore
public import TributaryProviders
public import TributaryStore
public import TributaryUpstream

/// What one run of one resource did.
public struct PollReport: Sendable, Equatable {
    public var connection: String
    public var resource: String
    public var pages = 0
    public var observations = 0
    public var newEvents = 0
    public var anomalies: [CursorAnomaly] = []
    /// Another process held the lease: this run did nothing.
    public var skipped = false
    public var notModified = false
    public var error: String?

    public init(connection: String, resource: String) {
        self.connection = connection
        self.resource = resource
    }
}

/// Pages through one resource of one connection, committing each page's observations and the
/// cursor advance in one transaction, under a lease so no two processes poll it at once.
///
/// `runOnce` is what the scheduler calls on its timer and what `tributary poll --once` calls
/// from cron; it never throws: a failed run is a report with an error, and the cursor stays
/// at the last committed page, so the next run resumes there.
public struct Poller: Sendable {
    public let store: Store
    public let resource: PollResource
    public let client: UpstreamClient
    public let connection: Connection
    /// Who holds leases taken by this process.
    public let holder: String
    public let leaseTTL: Duration
    let now: @Sendable () -> Int64

    public init(
        store: Store, resource: PollResource, client: UpstreamClient, connection: Connection, holder: String,
        leaseTTL: Duration = .seconds(120), now: @escaping @Sendable () -> Int64
    ) {
        self.store = store
        self.resource = resource
        self.client = client
        self.connection = connection
        self.holder = holder
        self.leaseTTL = leaseTTL
        self.now = now
    }

    public var leaseName: String { "poll:\(connection.id):\(resource.name)" }

    /// Takes the resource's lease; a lease left by a process of this host that no longer exists
    /// (killed mid-run) is taken over at once rather than after its expiry.
    func acquireLease(_ name: String? = nil, now: Int64, logger: Logger) async throws(StoreError) -> Bool {
        let name = name ?? leaseName
        if try await store.acquireLease(name, holder: holder, ttl: leaseTTL, now: now) { return true }
        guard let current = try await store.leaseHolder(name), LeaseHolder.isDeadLocalProcess(current.holder) else { return false }
        logger.notice("taking over the lease of a process that no longer runs", metadata: ["lease.holder": "\(current.holder)"])
        return try await store.takeOverLease(name, from: current.holder, holder: holder, ttl: leaseTTL, now: now)
    }

    /// How a run ended other than by its cursor saying so.
    enum RunEnding: Sendable, Equatable {
        case notModified
        case expired(PollCursor, CursorAnomaly)
        /// The next request would repeat one this run already made: the provider answered a page that
        /// leads back to itself (the same page token, the same last event id), so the run stops.
        case repeated(CursorAnomaly)

        var anomaly: CursorAnomaly? {
            switch self {
            case .notModified: return nil
            case .expired(_, let anomaly), .repeated(let anomaly): return anomaly
            }
        }
    }

    /// The fetching side: requests page after page from the cursor, parses each and queues it.
    func fetchPages(from start: PollCursor, maxPages: Int, priority: RequestPriority, queue: PageQueue, logger: Logger) async throws -> RunEnding? {
        var cursor = start
        var pages = 0
        // Every request this run made, whatever the cursor kind: a next request identical to one of them
        // would be answered with the same page again, and again.
        var made = Set<[UInt8]>()
        var previousItems: [String] = []
        while pages < maxPages {
            let request = try resource.request(for: cursor, client: client, account: connection.account)
            guard made.insert(Array((request.method + " " + request.url + "\n").utf8) + (request.body ?? [])).inserted else {
                logger.warning("poll run stopped: the next request repeats one already made in this run")
                return .repeated(.repeatedRequest)
            }
            let response = try await client.send(request, priority: priority, logger: logger)
            let receivedAt = now()
            // The page's read fence: when the request that answered was sent, not when it began
            // waiting for the limiter (a sweep page may wait minutes, and retry).
            let requestedAt = response.sentAt ?? receivedAt
            if response.status == 304 { return .notModified }
            if resource.machine.kind == .syncToken, (resource.spec.cursor.expiry ?? [410]).contains(response.status) {
                let (expired, anomaly) = resource.machine.expire(cursor)
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
                logger.warning("poll run stopped: a page repeated the previous page's items")
                return .repeated(.repeatedPage)
            }
            previousItems = items
            var step = resource.machine.advance(cursor, page: page.outcome)
            if pages == 0, resource.spec.conditional == "etag", let etag = response.header("ETag") { step.cursor.etag = etag }
            cursor = step.cursor
            pages += 1
            await queue.push(PageQueue.Page(drafts: page.drafts, cursor: step.cursor, anomalies: step.anomalies, receivedAt: receivedAt))
            if step.done || queue.isAbandoned { break }
        }
        return nil
    }

    /// Fetches pages from `start` ahead of their commits and hands whatever has queued to `commit`
    /// in one call (one transaction), renewing `lease` after each.
    ///
    /// The next page depends only on the cursor, not on the commit of this one: the fetching side
    /// runs ahead (up to 8 pages) while the committing side writes.
    func pipeline(
        from start: PollCursor, maxPages: Int, priority: RequestPriority, lease: String, logger: Logger,
        commit: ([PageQueue.Page]) async throws -> Void
    ) async throws -> RunEnding? {
        let queue = PageQueue(limit: 8)
        return try await withThrowingTaskGroup(of: RunEnding?.self) { group in
            group.addTask {
                defer { queue.finish() }
                return try await self.fetchPages(from: start, maxPages: maxPages, priority: priority, queue: queue, logger: logger)
            }
            while true {
                let pages = await queue.takeAll()
                guard !pages.isEmpty else { break }
                do {
                    try await commit(pages)
                    _ = try await store.acquireLease(lease, holder: holder, ttl: leaseTTL, now: now())
                } catch {
                    queue.abandon()
                    throw error
                }
                queue.committed(pages.count)
            }
            var ending: RunEnding?
            for try await result in group where result != nil { ending = result }
            return ending
        }
    }

    /// Runs the resource until its cursor says the run is over (or `maxPages`).
    public func runOnce(maxPages: Int = 10_000, logger: Logger) async -> PollReport {
        var logger = logger
        logger[metadataKey: "connection"] = "\(connection.id)"
        logger[metadataKey: "poll.resource"] = "\(resource.name)"
        var report = PollReport(connection: connection.id, resource: resource.name)
        let startedAt = now()
        do {
            guard try await acquireLease(now: startedAt, logger: logger) else {
                report.skipped = true
                logger.debug("poll skipped: another process holds the lease")
                return report
            }
        } catch {
            report.error = error.message
            return report
        }
        var cursor = PollCursor()
        do {
            let state = try await store.pollState(connection: connection.id, resource: resource.name)
            let priority: RequestPriority = state.cursor.isEmpty || state.cursor.run != nil && state.cursor.watermark == nil ? .backfill : .incrementalPoll
            cursor = resource.machine.begin(state.cursor, now: startedAt)
            let ending = try await pipeline(from: cursor, maxPages: maxPages, priority: priority, lease: leaseName, logger: logger) { pages in
                let drafts = pages.flatMap(\.drafts)
                let results = try await store.commitPage(
                    drafts, connection: connection.id, resource: resource.name, cursor: pages.last!.cursor,
                    lease: leaseName, holder: holder, now: pages.last!.receivedAt, pages: pages.count
                )
                cursor = pages.last!.cursor
                report.pages += pages.count
                report.observations += drafts.count
                report.newEvents += results.filter { !$0.duplicate }.count
                report.anomalies += pages.flatMap(\.anomalies)
            }
            switch ending {
            case .notModified?:
                report.notModified = true
                cursor.run = nil
            case .expired(let expired, let anomaly)?:
                cursor = expired
                report.anomalies.append(anomaly)
                logger.notice("sync token expired; the next run enumerates everything again")
            case .repeated(let anomaly)?:
                report.anomalies.append(anomaly)
                // Not resumed: the next run starts over from the committed watermark or token, after the
                // interval, instead of at once from the page that loops.
                cursor.run = nil
            case nil:
                break
            }
        } catch {
            report.error = "\(error)"
            logger.warning("poll run failed; the cursor stays at the last committed page", metadata: ["error": "\(error)"])
        }
        let finishedAt = now()
        let interval = resource.interval.microseconds
        do {
            try await store.recordPollRun(
                connection: connection.id, resource: resource.name, startedAt: startedAt, finishedAt: finishedAt,
                nextRunAt: finishedAt + interval, error: report.error,
                anomaly: report.anomalies.isEmpty ? nil : report.anomalies.map { "\($0)" }.joined(separator: ", "),
                cursor: report.error == nil ? cursor : nil
            )
            try await store.releaseLease(leaseName, holder: holder)
        } catch {
            logger.warning("cannot record the poll run", metadata: ["error": "\(error)"])
        }
        logger.info("poll run", metadata: [
            "pages": "\(report.pages)", "observations": "\(report.observations)", "new": "\(report.newEvents)",
            "anomalies": "\(report.anomalies.count)",
        ])
        return report
    }
}

/// How one call to ``Poller/sweepOnce(maxPages:confirmable:logger:)`` ended.
public enum SweepOutcome: Sendable, Equatable {
    /// The sweep as stored: `running` when cut short (it resumes next time), else how it ended.
    case ended(Sweep)
    /// Another process holds the sweep's lease (and is sweeping the resource).
    case skipped
    /// The store failed; the sweep, if begun, stays `running` and resumes next time.
    case storeFailed(String)

    public var sweep: Sweep? {
        if case .ended(let sweep) = self { sweep } else { nil }
    }
}

extension Poller {
    public var sweepLeaseName: String { "sweep:\(connection.id):\(resource.name)" }

    /// Whether a sweep can enumerate this resource: an event feed lists changes, not records.
    public var sweepable: Bool { resource.machine.kind != .eventId && resource.spec.sweep?.enabled != false }

    /// One full sweep (`reconcile --full`, or the sweep scheduler): enumerates every record of the
    /// resource from an empty cursor at the lowest priority, tags each with the sweep's generation,
    /// logs the drift, and — only when the enumeration completed without an error or anomaly —
    /// proposes the live mirror records it did not see, untouched since it began, for a fetch that
    /// confirms 404/410.
    ///
    /// Checkpointed like a backfill: a sweep interrupted (a crash, `maxPages`, a lost lease) stays
    /// `running` and the next call resumes it from its cursor, with its generation and start time,
    /// under its own lease (so it never runs twice at once; a dead local holder's lease is taken over).
    /// - Returns: how it ended, or `.skipped` when another process holds its lease.
    public func sweepOnce(maxPages: Int = 1_000_000, confirmable: Bool, logger: Logger) async -> SweepOutcome {
        var logger = logger
        logger[metadataKey: "connection"] = "\(connection.id)"
        logger[metadataKey: "sweep.resource"] = "\(resource.name)"
        let lease = sweepLeaseName
        do {
            guard try await acquireLease(lease, now: now(), logger: logger) else {
                logger.notice("sweep skipped: another process holds its lease")
                return .skipped
            }
        } catch {
            return .storeFailed(error.message)
        }
        let outcome = await sweepHoldingLease(lease, maxPages: maxPages, confirmable: confirmable, logger: logger)
        // Released by this holder only while it still holds it (a lease taken over is not ours to drop).
        try? await store.releaseLease(lease, holder: holder)
        return outcome
    }

    func sweepHoldingLease(_ lease: String, maxPages: Int, confirmable: Bool, logger: Logger) async -> SweepOutcome {
        var logger = logger
        do {
            let sweep = try await store.beginSweep(connection: connection.id, resource: resource.name, recordType: resource.spec.recordType, now: now())
            logger[metadataKey: "sweep.generation"] = "\(sweep.generation)"
            var anomalies: [CursorAnomaly] = []
            let start = sweep.cursor.isEmpty ? resource.machine.begin(PollCursor(), now: sweep.startedAt) : sweep.cursor
            var status = Sweep.Status.complete
            var failure: String?
            var reached = start
            do {
                let ending = try await pipeline(from: start, maxPages: maxPages, priority: .sweep, lease: lease, logger: logger) { pages in
                    try await store.commitSweepPage(pages.flatMap(\.drafts), sweep: sweep.generation, cursor: pages.last!.cursor,
                                                    lease: lease, holder: holder, pages: pages.count)
                    reached = pages.last!.cursor
                    // Items repeated behind the cursor are read twice, not skipped: they leave the enumeration whole.
                    anomalies += pages.flatMap(\.anomalies).filter { if case .itemsBehindCursor = $0 { false } else { true } }
                }
                if ending == nil, reached.run != nil {
                    // Stopped at maxPages: checkpointed, to be resumed; an unfinished enumeration proposes nothing.
                    return .ended(try await store.sweep(generation: sweep.generation) ?? sweep)
                }
                if let anomaly = ending?.anomaly { anomalies.append(anomaly) }
                if !anomalies.isEmpty || ending == .notModified {
                    status = .incomplete
                    failure = "enumeration not trustworthy: " + (ending == .notModified ? ["not modified"] : anomalies.map { "\($0)" }).joined(separator: ", ")
                }
            } catch let error as StoreError where error.code == .leaseLost {
                throw error  // not a failed sweep: another process resumed it (handled below)
            } catch {
                status = .failed
                failure = "\(error)"
            }
            let suspects = try await store.finishSweep(
                sweep.generation, status: status, error: failure, confirmable: confirmable, lease: lease, holder: holder, now: now()
            )
            let ended = try await store.sweep(generation: sweep.generation) ?? sweep
            logger.info("sweep", metadata: [
                "status": "\(status.rawValue)", "seen": "\(ended.seen)", "missing": "\(ended.missing)",
                "stale": "\(ended.stale)", "suspected_deleted": "\(suspects)", "error": "\(failure ?? "")",
            ])
            return .ended(ended)
        } catch let error as StoreError where error.code == .leaseLost {
            // Another process resumed it: this one leaves it running for that one to end.
            logger.notice("sweep lease lost; the sweep continues elsewhere", metadata: ["error": "\(error.message)"])
            return .skipped
        } catch {
            // Only the store throws out here (the enumeration's own errors end the sweep as failed).
            let message = (error as? StoreError)?.message ?? "\(error)"
            logger.warning("sweep failed in the store", metadata: ["error": "\(message)"])
            return .storeFailed(message)
        }
    }
}
