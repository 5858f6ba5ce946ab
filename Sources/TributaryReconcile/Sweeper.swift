public import Logging
public import TributaryCore
public import TributaryProviders
public import TributaryStore
public import TributaryUpstream

/// Sweeps one polled resource of one connection: a full enumeration compared with the mirror,
/// under its own lease, at the lowest priority of the connection's rate-limit budget.
public struct Sweeper: Sendable {
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
    public var connection: Connection { reader.connection }
    public var leaseName: String { "sweep:\(connection.id):\(resource.name)" }

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
        let lease = leaseName
        do {
            guard try await store.claimLease(lease, holder: holder, ttl: leaseTTL, now: now(), logger: logger) else {
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
                let ending = try await reader.pipeline(from: start, maxPages: maxPages, priority: .sweep, logger: logger) { pages in
                    try await store.commitSweepPage(pages.flatMap(\.drafts), sweep: sweep.generation, cursor: pages.last!.cursor,
                                                    lease: lease, holder: holder, pages: pages.count)
                    _ = try await store.acquireLease(lease, holder: holder, ttl: leaseTTL, now: now())
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
