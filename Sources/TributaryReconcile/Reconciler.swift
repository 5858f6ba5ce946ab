import Foundation
public import Logging
public import TributaryCore
public import TributaryProviders
public import TributaryStore
public import TributaryUpstream
import TributaryScheduling
import TributaryTelemetry

/// Applies the event log to the mirror: what `tributary reconcile` runs, one pass at a time.
///
/// A pass applies what events decide on their own (newer, older, duplicate, tombstone). Events
/// whose decision needs the provider's current state — no version, a thin payload, a conflict at
/// one version, a regression to confirm — are answered by one fetch per record through the
/// connection's shared rate limiter (priority: webhook follow-up); the fetched state is logged as
/// a `fetch` event that supersedes them, and applied like any other. A 404/410 is a tombstone.
public struct Reconciler: Sendable {
    public let store: Store
    public let catalog: ManifestCatalog
    public let clients: UpstreamClients?
    /// Failed fetches retry with full-jitter backoff; after this many attempts their events are `dead`.
    public var maxAttempts = 8
    public var fetchBackoff = Backoff(base: .seconds(1), cap: .seconds(600))
    /// Records fetched at once (across connections; each connection's limiter paces its own requests).
    public var fetchConcurrency = 8
    /// At most this many sweep or verification fetches per pass (they wait behind deliveries' follow-ups).
    public var backgroundFetchesPerPass = 32
    let now: @Sendable () -> Int64

    /// - Parameter clients: the process's shared upstream clients; `nil` applies events without fetching.
    public init(store: Store, catalog: ManifestCatalog, clients: UpstreamClients?, now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.catalog = catalog
        self.clients = clients
        self.now = now
    }

    /// Applies every pending event it can, fetching where events cannot decide, and reports the totals.
    /// - Parameter untilSettled: repeat fetch rounds while they settle something (what `tributary
    ///   reconcile` does, so one run from cron finishes a sweep's confirmations); `serve` makes one
    ///   round per tick instead, so new deliveries are never kept waiting behind background fetches.
    public func runOnce(connection: String? = nil, batch: Int = 500, untilSettled: Bool = false, logger: Logger) async throws(StoreError) -> ReconcileReport {
        var total = try await applyAll(connection: connection, batch: batch)
        if clients != nil {
            for _ in 0..<(untilSettled ? 1000 : 1) {
                let fetched = try await fetchPending(connection: connection, logger: logger)
                total.fetches += fetched.fetches
                total.fetchFailures += fetched.failures
                guard fetched.fetches > fetched.failures else { break }
                let next = try await applyAll(connection: connection, batch: batch)
                total.addSettled(next)
                total.needFetch = next.needFetch
            }
        }
        let telemetry = clients?.telemetry ?? .off
        telemetry.count(.reconcileEvents, ["applied"], by: total.applied)
        telemetry.count(.reconcileEvents, ["superseded"], by: total.superseded)
        telemetry.count(.reconcileEvents, ["unchanged"], by: total.unchanged)
        telemetry.count(.fetches, ["ok"], by: total.fetches - total.fetchFailures)
        telemetry.count(.fetches, ["failed"], by: total.fetchFailures)
        for lag in total.lags { telemetry.observe(.reconcileLagSeconds, Double(max(0, lag)) / 1e6) }
        // An idle pass (every tick of `serve`) is not news.
        let idle = total.applied + total.superseded + total.unchanged + total.fetches == 0
        logger.log(level: idle ? .debug : .info, "reconcile pass", metadata: [
            "applied": "\(total.applied)", "superseded": "\(total.superseded)", "unchanged": "\(total.unchanged)",
            "needs_fetch": "\(total.needFetch)", "fetches": "\(total.fetches)", "fetch_failures": "\(total.fetchFailures)",
        ])
        return total
    }

    func applyAll(connection: String?, batch: Int) async throws(StoreError) -> ReconcileReport {
        var total = ReconcileReport()
        let catalog = self.catalog
        while true {
            // A webhook delivery's record state is where its rule's state pointer says (polled and
            // fetched observations are stored as the record itself).
            let report = try await store.applyPendingEvents(limit: batch, connection: connection, skipping: Set(catalog.invalid.keys), now: now()) { provider, type, body in
                catalog.providers[provider]?.extractor?.recordState(type: type, body: body)
            }
            total.addSettled(report)
            total.needFetch += report.needFetch
            if report.applied + report.superseded + report.unchanged + report.needFetch < batch { break }
        }
        return total
    }

    /// One fetch per record waiting on one, `fetchConcurrency` records at a time (each connection's
    /// limiter still paces its own); each result logged in the same transaction that settles the
    /// events it answers.
    func fetchPending(connection only: String?, logger: Logger) async throws(StoreError) -> (fetches: Int, failures: Int) {
        guard clients != nil else { return (0, 0) }
        // Deliveries' follow-ups first; sweep suspicions and verifications only a few per pass, so a
        // large sweep never holds up the webhooks behind it.
        // A provider whose manifest is invalid is not fetched from: its events wait for the fix.
        let waiting = try await store.pendingFetches(connection: only, limit: 1000, now: now()).filter { catalog.invalid[$0.provider] == nil }
        let pending = waiting.filter { !$0.background } + waiting.filter(\.background).prefix(backgroundFetchesPerPass)
        let outcomes = await forEachConcurrently(pending, limit: fetchConcurrency) { await self.attempt($0, logger: logger) }
        var failures = 0
        for outcome in outcomes {
            if try !outcome.get() { failures += 1 }
        }
        return (pending.count, failures)
    }

    func attempt(_ pending: PendingFetch, logger: Logger) async -> Result<Bool, StoreError> {
        do { return .success(try await fetch(pending, logger: logger)) } catch { return .failure(error) }
    }

    /// Fetches one record's current state and settles the events waiting on it.
    /// - Returns: whether the fetch succeeded (a failure is noted on the events, with their next attempt).
    func fetch(_ pending: PendingFetch, logger: Logger) async throws(StoreError) -> Bool {
        guard let clients else { return false }
        func retryAt(_ attempt: Int) -> Int64 {
            var random = SplitMix64(seed: UInt64(truncatingIfNeeded: now() ^ pending.seqs[0]))
            let delay = fetchBackoff.delay(attempt: attempt, random: random.nextUnit())
            return now() + delay.microseconds
        }
        guard let provider = catalog.providers[pending.provider], let api = provider.manifest.api, let fetch = provider.fetch,
              let connection = try await store.connection(id: pending.connection) else {
            if pending.background {
                // A page fenced out by a later read: that read is already in the mirror, and nothing can verify it further.
                try await store.settleUnverified(pending.seqs, reason: "a later read is in the mirror; no api.fetch to verify with")
                return true
            }
            try await store.noteFetchFailure(pending.seqs, reason: "provider \(pending.provider) has no api.fetch in its manifest", maxAttempts: maxAttempts)
            return false
        }
        let credentials = try await store.apiCredentials(connection: connection.id)
        let client = clients.client(for: connection, api: api, baseURL: credentials.baseURL, token: credentials.token)
        // The account first, checked and encoded, so that nothing it holds is read as a placeholder or a path step.
        guard case .success(let template) = URLTemplate.fillPath(fetch.path(for: pending.recordType), account: connection.account ?? "") else {
            try await store.noteFetchFailure(pending.seqs, reason: "connection \(connection.id)'s account cannot be a path of api.fetch", maxAttempts: maxAttempts)
            return false
        }
        let path = template
            .replacingOccurrences(of: "{type}", with: pending.recordType)
            .replacingOccurrences(of: "{id}", with: UpstreamClient.encode(pending.recordId))
        // Sweep suspicions and fence verifications wait behind everything else on the connection's budget.
        let priority: RequestPriority = pending.background ? .sweep : .webhookFollowUp
        let response: UpstreamResponse
        do {
            response = try await client.send(UpstreamRequest(url: client.url(path), headers: [("Accept", "application/json")]), priority: priority, logger: logger)
        } catch {
            try await store.noteFetchFailure(pending.seqs, reason: "\(error)", retryAt: retryAt(pending.attempts), maxAttempts: maxAttempts)
            return false
        }
        let receivedAt = now()
        let issuedAt = response.sentAt ?? receivedAt
        var draft = EventDraft(
            connection: connection.id, tenant: connection.tenant, provider: pending.provider, source: .fetch,
            eventId: "", type: "\(pending.recordType).fetched", record: nil, occurredAt: nil, receivedAt: receivedAt,
            headers: [], body: [], url: nil, readFence: issuedAt
        )
        if fetch.gone.contains(response.status) {
            draft.eventId = EventID.fetched(recordType: pending.recordType, recordId: pending.recordId, tag: nil, receivedAt: receivedAt)
            draft.record = RecordRef(recordType: pending.recordType, recordId: pending.recordId, version: nil, deleted: true, fullState: true)
        } else if (200..<300).contains(response.status), let document = JSONValue(parsing: response.body) {
            let seen = fetch.observations.read(document)
            draft.eventId = EventID.fetched(recordType: pending.recordType, recordId: pending.recordId, tag: seen.tag, receivedAt: receivedAt)
            draft.record = seen.record(pending.recordType, id: pending.recordId)
            draft.body = seen.state
        } else {
            try await store.noteFetchFailure(pending.seqs, reason: "provider answered HTTP \(response.status)", retryAt: retryAt(pending.attempts), maxAttempts: maxAttempts)
            return false
        }
        _ = try await store.resolveByFetch(draft, resolving: pending.seqs)
        return true
    }
}
