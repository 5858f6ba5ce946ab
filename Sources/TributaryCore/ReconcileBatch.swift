/// Why a pending event waits for the provider's current state: kept in the log (`awaiting_fetch`),
/// so the store finds the events awaiting a fetch by value, not by reading a sentence.
public enum FetchCause: String, Sendable, CaseIterable {
    case noVersion = "no-version"
    case thinPayload = "thin-payload"
    case conflictingContent = "conflicting-content"
    case untrustedVersion = "untrusted-version"
    /// A page read before the state the mirror holds: verified by a low-priority fetch.
    case fenced
    /// One authoritative fetch reported a lower version; a second must agree.
    case confirmRegression = "confirm-regression"
    /// A complete sweep did not see the record: a fetch confirms the deletion (404/410) or not.
    case suspectedDeleted = "suspected-deleted"
    /// Backfilled from a database made before the cause was kept, where the reason did not say.
    case unspecified
}

extension ReconcileDecision.FetchReason {
    public var cause: FetchCause {
        switch self {
        case .noVersion: .noVersion
        case .thinPayload: .thinPayload
        case .conflictingContent: .conflictingContent
        case .untrustedVersion: .untrustedVersion
        case .fenced: .fenced
        case .confirmRegression: .confirmRegression
        }
    }
}

/// How an event the reconciler settled without writing the mirror is marked.
public enum Settled: Sendable, Equatable {
    case older, unchanged, noRecord

    public var status: EventStatus { self == .older ? .superseded : .applied }

    public var reason: String {
        switch self {
        case .older: "older than the mirror's version"
        case .unchanged: "same version and content as the mirror"
        case .noRecord: "no mirror record"
        }
    }
}

/// One pending event as the reconcile policy sees it: what it observed of its record (`nil` key:
/// it is about no record) and what the mirror held for that record when the batch was read.
public struct PendingObservation<Key: Hashable & Sendable>: Sendable {
    public var key: Key?
    public var observation: Observation
    /// The fence the mirror takes when this event is written: its read's fence, or its arrival.
    public var fence: Int64
    public var held: MirrorVersion?

    public init(key: Key?, observation: Observation, fence: Int64, held: MirrorVersion?) {
        self.key = key
        self.observation = observation
        self.fence = fence
        self.held = held
    }
}

/// What the store must do for one event; the store only executes these, in the batch's transaction.
public enum ReconcileAction: Sendable, Equatable {
    /// Write the event's state to the mirror (a tombstone when it is a deletion), trusted or not. With
    /// `replacing`, the write is a new record under a reused id: the live record of that incarnation is
    /// gone, and the store logs its deletion.
    case write(trusted: Bool, replacing: Int64? = nil)
    /// Mark the event settled; the mirror is untouched.
    case settle(Settled)
    /// Leave the event pending until a fetch; with `regression`, first mark the mirror's record as
    /// awaiting a second fetch that agrees on that lower version.
    case awaitFetch(FetchCause, reason: String, regression: Int64?)
}

/// The reconcile policy for a batch of pending events, in log order: one action per event.
///
/// Each event is decided by ``ReconcileDecision`` against what the mirror holds for its record,
/// as the batch itself has left it: a later event of a record this batch already wrote (or
/// marked) sees that write, not what the mirror held when the batch was read.
public enum ReconcileBatch {
    public static func decide<Key>(_ events: [PendingObservation<Key>]) -> [ReconcileAction] {
        var touched: [Key: MirrorVersion] = [:]
        touched.reserveCapacity(events.count)
        var actions: [ReconcileAction] = []
        actions.reserveCapacity(events.count)
        for event in events {
            guard let key = event.key else {
                actions.append(.settle(.noRecord))
                continue
            }
            let current = touched[key] ?? event.held
            let observation = event.observation
            let decision = ReconcileDecision.decide(current: current, observation: observation)
            switch decision {
            case .apply, .tombstone, .acceptRegression:
                // A new incarnation is a new record: what was learnt of the old one's version field does not carry over.
                let reborn = observation.incarnation != nil && current?.incarnation != nil && observation.incarnation != current?.incarnation
                let trusted = decision != .acceptRegression && (reborn || (current?.versionTrusted ?? true))
                touched[key] = MirrorVersion(
                    version: observation.version == nil && observation.deleted ? current?.version : observation.version,
                    deleted: observation.deleted, contentHash: observation.contentHash, versionTrusted: trusted,
                    pendingRegression: nil, readFence: max(event.fence, current?.readFence ?? 0),
                    incarnation: observation.incarnation ?? current?.incarnation
                )
                actions.append(.write(trusted: trusted, replacing: reborn && current?.deleted == false ? current?.incarnation : nil))
            case .supersede:
                actions.append(.settle(.older))
            case .unchanged:
                actions.append(.settle(.unchanged))
            case .fetch(let why):
                var regression: Int64?
                if case .confirmRegression(let lower) = why, var marked = current {
                    marked.pendingRegression = lower
                    touched[key] = marked
                    regression = lower
                }
                actions.append(.awaitFetch(why.cause, reason: "needs fetch: \(why)", regression: regression))
            }
        }
        return actions
    }
}
