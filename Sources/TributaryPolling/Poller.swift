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
    func acquireLease(now: Int64, logger: Logger) async throws(StoreError) -> Bool {
        if try await store.acquireLease(leaseName, holder: holder, ttl: leaseTTL, now: now) { return true }
        guard let current = try await store.leaseHolder(leaseName), LeaseHolder.isDeadLocalProcess(current.holder) else { return false }
        logger.notice("taking over the lease of a process that no longer runs", metadata: ["lease.holder": "\(current.holder)"])
        return try await store.takeOverLease(leaseName, from: current.holder, holder: holder, ttl: leaseTTL, now: now)
    }

    private enum PipelineStep: Sendable {
        case fetched(UpstreamResponse?)
        case committed([AppendResult])
    }

    /// Commits one page (events and cursor in one transaction, then the lease renewed) while
    /// `next` — the following page, which depends only on the cursor — is already being fetched.
    private func commitAndFetch(
        _ drafts: [EventDraft], cursor: PollCursor, now: Int64, next: UpstreamRequest?, priority: RequestPriority, logger: Logger
    ) async throws -> ([AppendResult], UpstreamResponse?) {
        try await withThrowingTaskGroup(of: PipelineStep.self) { group in
            group.addTask {
                guard let next else { return .fetched(nil) }
                return .fetched(try await client.send(next, priority: priority, logger: logger))
            }
            group.addTask {
                let results = try await store.commitPage(
                    drafts, connection: connection.id, resource: resource.name, cursor: cursor, lease: leaseName, holder: holder, now: now
                )
                _ = try await store.acquireLease(leaseName, holder: holder, ttl: leaseTTL, now: now)
                return .committed(results)
            }
            var results: [AppendResult] = []
            var response: UpstreamResponse?
            for try await step in group {
                switch step {
                case .fetched(let fetched): response = fetched
                case .committed(let appended): results = appended
                }
            }
            return (results, response)
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
            let client = self.client
            var response = try await client.send(
                resource.request(for: cursor, client: client, account: connection.account), priority: priority, logger: logger
            )
            while report.pages < maxPages {
                let receivedAt = now()
                if response.status == 304 {
                    report.notModified = true
                    cursor.run = nil
                    break
                }
                if resource.machine.kind == .syncToken, (resource.spec.cursor.expiry ?? [410]).contains(response.status) {
                    let (expired, anomaly) = resource.machine.expire(cursor)
                    cursor = expired
                    report.anomalies.append(anomaly)
                    logger.notice("sync token expired; the next run enumerates everything again")
                    break
                }
                guard (200..<300).contains(response.status) else {
                    throw PollError("\(resource.name): provider answered HTTP \(response.status)")
                }
                let page = try resource.parse(response, connection: connection.id, tenant: connection.tenant, receivedAt: receivedAt)
                var step = resource.machine.advance(cursor, page: page.outcome)
                if report.pages == 0, resource.spec.conditional == "etag", let etag = response.header("ETag") { step.cursor.etag = etag }
                // The next page depends only on the cursor, not on this page's commit: fetch it while committing.
                let nextRequest: UpstreamRequest? = step.done || report.pages + 1 >= maxPages
                    ? nil : resource.request(for: step.cursor, client: client, account: connection.account)
                let (results, next) = try await commitAndFetch(page.drafts, cursor: step.cursor, now: receivedAt, next: nextRequest, priority: priority, logger: logger)
                cursor = step.cursor
                report.pages += 1
                report.observations += page.drafts.count
                report.newEvents += results.filter { !$0.duplicate }.count
                report.anomalies += step.anomalies
                guard let next else { break }
                response = next
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
