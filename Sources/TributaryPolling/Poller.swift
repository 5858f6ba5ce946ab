import Foundation
public import Logging
public import TributaryCore
public import TributaryProviders
public import TributaryStore
public import TributaryUpstream

/// Pages through one resource of one connection, committing each page's observations and the
/// cursor advance in one transaction, under a lease so no two processes poll it at once.
///
/// `runOnce` is what the scheduler calls on its timer and what `tributary poll --once` calls
/// from cron; it never throws: a failed run is a report with an error, and the cursor stays
/// at the last committed page, so the next run resumes there.
public struct Poller: Sendable {
    public let store: Store
    public let reader: ResourceReader
    /// Who holds leases taken by this process.
    public let holder: String
    public let leaseTTL: Duration
    let now: @Sendable () -> Int64

    public init(store: Store, reader: ResourceReader, holder: String, leaseTTL: Duration = .seconds(120), now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.reader = reader
        self.holder = holder
        self.leaseTTL = leaseTTL
        self.now = now
    }

    public var resource: PollResource { reader.resource }
    public var client: UpstreamClient { reader.client }
    public var connection: Connection { reader.connection }
    public var leaseName: String { "poll:\(connection.id):\(resource.name)" }

    /// Runs the resource until its cursor says the run is over (or `maxPages`).
    public func runOnce(maxPages: Int = 10_000, logger: Logger) async -> PollReport {
        var logger = logger
        logger[metadataKey: "connection"] = "\(connection.id)"
        logger[metadataKey: "poll.resource"] = "\(resource.name)"
        var report = PollReport(connection: connection.id, resource: resource.name)
        let startedAt = now()
        do {
            guard try await store.claimLease(leaseName, holder: holder, ttl: leaseTTL, now: startedAt, logger: logger) else {
                report.skipped = true
                logger.debug("poll skipped: another process holds the lease")
                return report
            }
        } catch {
            report.error = error.message
            return report
        }
        var cursor = PollCursor()
        var before: PollState?
        do {
            let state = try await store.pollState(connection: connection.id, resource: resource.name)
            before = state
            let priority: RequestPriority = state.cursor.isEmpty || state.cursor.run != nil && state.cursor.watermark == nil ? .backfill : .incrementalPoll
            cursor = resource.machine.begin(state.cursor, now: startedAt)
            let ending = try await reader.pipeline(from: cursor, maxPages: maxPages, priority: priority, logger: logger) { pages in
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
                _ = try await store.acquireLease(leaseName, holder: holder, ttl: leaseTTL, now: now())
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
            // Said once, by whoever reads the report: the scheduler's log, or the command's output.
            report.error = "\(error)"
        }
        let finishedAt = now()
        let interval = resource.interval.microseconds
        // A run that read at least a full page, found nothing new and left the cursor where it was:
        // counted, so that a poll going round in circles says so instead of looking healthy.
        var stalledRuns: Int?
        if report.error == nil, let before, resource.machine.kind != .pageToken, !report.notModified {
            let still = Self.position(before.cursor) == Self.position(cursor) && report.newEvents == 0
                && report.observations >= resource.machine.pageSize
            stalledRuns = still ? before.stalledRuns + 1 : 0
            if still, before.stalledRuns + 1 >= Self.stallThreshold {
                report.anomalies.append(.cursorStalled(runs: before.stalledRuns + 1))
                logger.warning("the cursor has not moved in \(before.stalledRuns + 1) runs that each read a full page of nothing new")
            }
        }
        do {
            try await store.recordPollRun(
                connection: connection.id, resource: resource.name, startedAt: startedAt, finishedAt: finishedAt,
                nextRunAt: finishedAt + interval, error: report.error,
                anomaly: report.anomalies.isEmpty ? nil : report.anomalies.map { "\($0)" }.joined(separator: ", "),
                cursor: report.error == nil ? cursor : nil, changed: report.newEvents > 0, stalledRuns: stalledRuns
            )
            try await store.releaseLease(leaseName, holder: holder)
        } catch where !Task.isCancelled {
            logger.warning("cannot record the poll run", metadata: ["error": "\(error)"])
        } catch {
            // Cancelled: the pages committed so far stay; the next run resumes from them.
        }
        logger.info("poll run", metadata: [
            "pages": "\(report.pages)", "observations": "\(report.observations)", "new": "\(report.newEvents)",
            "anomalies": "\(report.anomalies.count)",
        ])
        return report
    }

    /// Runs in a row that must stall before `cursorStalled` is raised.
    static let stallThreshold = 3

    /// What a run moves when it makes progress: where the next run starts.
    static func position(_ cursor: PollCursor) -> [String?] {
        [cursor.watermark.map(String.init), cursor.afterId, cursor.syncToken, cursor.lastEventId]
    }
}
