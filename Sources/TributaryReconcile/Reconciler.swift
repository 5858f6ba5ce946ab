public import Logging
import TributaryCore
public import TributaryProviders
public import TributaryStore

/// Applies the event log to the mirror: what `tributary reconcile` runs, one pass at a time.
///
/// This first cut applies what events decide on their own (newer, older, duplicate, tombstone).
/// Events whose decision needs the provider's current state — no version, a thin payload, a
/// conflict at one version, a regression to confirm — stay `pending` with the reason
/// `needs fetch: …`; fetching them through the connection's rate limiter is the next step (issue 4).
public struct Reconciler: Sendable {
    public let store: Store
    public let catalog: ManifestCatalog
    let now: @Sendable () -> Int64

    public init(store: Store, catalog: ManifestCatalog, now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.catalog = catalog
        self.now = now
    }

    /// Applies every pending event it can, batch by batch, and reports the totals.
    public func runOnce(connection: String? = nil, batch: Int = 500, logger: Logger) async throws(StoreError) -> ReconcileReport {
        var total = ReconcileReport()
        let catalog = self.catalog
        while true {
            let report = try await store.applyPendingEvents(limit: batch, connection: connection, now: now()) { event in
                // Polled observations are stored as the record itself; webhook deliveries through their rule's state pointer.
                event.source == .poll ? event.body : catalog.providers[event.provider]?.extractor?.recordState(type: event.type, body: event.body)
            }
            total.applied += report.applied
            total.superseded += report.superseded
            total.unchanged += report.unchanged
            total.needFetch += report.needFetch
            if report.applied + report.superseded + report.unchanged + report.needFetch < batch { break }
        }
        logger.info("reconcile pass", metadata: [
            "applied": "\(total.applied)", "superseded": "\(total.superseded)", "unchanged": "\(total.unchanged)", "needs_fetch": "\(total.needFetch)",
        ])
        return total
    }
}
