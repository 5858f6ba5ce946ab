/// What the mirror holds for one record, as far as deciding goes.
public struct MirrorVersion: Sendable, Equatable {
    public var version: Int64?
    public var deleted: Bool
    /// A digest of the stored state, to tell "same version, same content" from a conflict.
    public var contentHash: String?
    /// False once two authoritative fetches agreed on a lower version: the field is not a clock for this record.
    public var versionTrusted: Bool
    /// A lower version one authoritative fetch reported, awaiting a second to confirm it.
    public var pendingRegression: Int64?
    /// When the read behind the held state was issued: what orders observations that carry no version.
    public var readFence: Int64?
    /// Which record under the id the mirror holds (see `RecordRef.incarnation`).
    public var incarnation: Int64?

    public init(
        version: Int64?, deleted: Bool, contentHash: String?, versionTrusted: Bool = true, pendingRegression: Int64? = nil,
        readFence: Int64? = nil, incarnation: Int64? = nil
    ) {
        self.incarnation = incarnation
        self.version = version
        self.deleted = deleted
        self.contentHash = contentHash
        self.versionTrusted = versionTrusted
        self.pendingRegression = pendingRegression
        self.readFence = readFence
    }
}

/// One observation of a record, from an event or a fetch.
public struct Observation: Sendable, Equatable {
    public var version: Int64?
    public var deleted: Bool
    /// The observation carries the record's full state (a thin webhook does not).
    public var fullState: Bool
    public var contentHash: String?
    /// A fetch of the provider's current state: the truth at the moment it was read.
    public var authoritative: Bool
    /// When the read that saw this state was issued, for a read of the provider (a poll or sweep page,
    /// a fetch); `nil` for a delivery the provider pushed. Without versions, reads are ordered by it.
    public var readFence: Int64?
    /// Which record under the id this is (see `RecordRef.incarnation`); `nil` when unknown.
    public var incarnation: Int64?

    public init(
        version: Int64?, deleted: Bool, fullState: Bool, contentHash: String?, authoritative: Bool = false, readFence: Int64? = nil,
        incarnation: Int64? = nil
    ) {
        self.incarnation = incarnation
        self.version = version
        self.deleted = deleted
        self.fullState = fullState
        self.contentHash = contentHash
        self.authoritative = authoritative
        self.readFence = readFence
    }
}

/// The reconciler's verdict on one observation (DESIGN.md §3 rule 4); services only execute it.
public enum ReconcileDecision: Sendable, Equatable {
    /// Write the observed state (a newer version, or a tombstone undone by a newer version).
    case apply
    /// Mark the record deleted at this version.
    case tombstone
    /// Older than the mirror: the event is `superseded`, the mirror untouched.
    case supersede
    /// Same version, same content (a duplicate): nothing to write.
    case unchanged
    /// The observation cannot decide: ask the provider for the record's current state.
    case fetch(FetchReason)
    /// Two authoritative fetches agreed on a lower version: accept it, count an anomaly, stop trusting the field.
    case acceptRegression

    public enum FetchReason: Sendable, Equatable {
        case noVersion, thinPayload, conflictingContent, untrustedVersion
        /// A page read before the state the mirror holds was read: skipped, and verified by a low-priority fetch.
        case fenced
        /// One authoritative fetch reported a lower version; a second must agree before it is believed.
        case confirmRegression(Int64)
    }

    /// Decides what to do with `observation` given what the mirror holds (`nil`: never seen).
    public static func decide(current: MirrorVersion?, observation: Observation) -> ReconcileDecision {
        if let observed = observation.incarnation, let held = current?.incarnation, observed != held {
            // The id was reused: the provider deleted the record the mirror holds and made another under its
            // id. Versions of two incarnations do not compare; the later incarnation wins whatever its version.
            if observed < held { return .supersede }
            if observation.deleted { return .tombstone }
            return observation.fullState || observation.authoritative ? .apply : .fetch(.thinPayload)
        }
        guard let observed = observation.version else {
            // A versionless page cannot tell how it relates to a trusted version the mirror holds.
            if !observation.authoritative, current?.version != nil, current?.versionTrusted == true { return .fetch(.noVersion) }
            return byReadFence(current: current, observation: observation) ?? .fetch(.noVersion)
        }
        guard let current, let held = current.version else {
            if observation.deleted { return .tombstone }
            return observation.fullState || observation.authoritative ? .apply : .fetch(.thinPayload)
        }
        if !current.versionTrusted { return byReadFence(current: current, observation: observation) ?? .fetch(.untrustedVersion) }
        if observed > held {
            if observation.deleted { return .tombstone }
            return observation.fullState || observation.authoritative ? .apply : .fetch(.thinPayload)
        }
        if observed < held {
            guard observation.authoritative else { return .supersede }
            return current.pendingRegression == observed ? .acceptRegression : .fetch(.confirmRegression(observed))
        }
        // Equal versions.
        if observation.deleted != current.deleted { return observation.authoritative ? (observation.deleted ? .tombstone : .apply) : .fetch(.conflictingContent) }
        if observation.deleted || !observation.fullState { return .unchanged }
        if let hash = observation.contentHash, let held = current.contentHash, hash != held {
            return observation.authoritative ? .apply : .fetch(.conflictingContent)
        }
        return .unchanged
    }

    /// Without a version to compare, a read of the provider (a fetch, or a full-state page) is ordered
    /// by when it was sent: it applies unless the mirror holds something that arrived later (a later
    /// read, or a delivery). Then it is read again (a page's record verified, a fetch repeated) rather
    /// than dropped: the later state may itself be stale, and only a fresh read can tell.
    /// `nil`: not a read, so no fence decides.
    static func byReadFence(current: MirrorVersion?, observation: Observation) -> ReconcileDecision? {
        guard let fence = observation.readFence, observation.authoritative || observation.fullState else {
            return observation.authoritative ? (observation.deleted ? .tombstone : .apply) : nil
        }
        if let held = current?.readFence, held > fence { return .fetch(.fenced) }
        return observation.deleted ? .tombstone : .apply
    }
}
