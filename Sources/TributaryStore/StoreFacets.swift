public import Logging
public import TributaryCore

// The store's facets as contracts both stores keep: SQLite (``Store``, the embedded default) and
// PostgreSQL (`TributaryPostgres.PostgresStore`, several nodes on one database). One conformance
// suite (Tests/TributaryTests/StoreConformance) runs every test of a contract against both.
// Facets move here one by one from `Store`'s concrete API as the PostgreSQL store gains them.

/// The event log: the durable, idempotent append intake acknowledges after, and its reads.
public protocol EventLogStore: Sendable {
    /// Appends one event durably: returns only after the transaction holding it has committed.
    /// A repeat of `(connection, eventId)` (or of a signed body within its replay guard) stores
    /// nothing and answers the first row's seq with `duplicate: true`, however many nodes and
    /// requests race.
    /// - Throws: `.notFound` for an unknown connection, `.overloaded` past intake's bound,
    ///   `.unavailable` when the database cannot commit.
    func append(_ draft: EventDraft, reservation: IntakeReservation?) async throws(StoreError) -> AppendResult
    /// Takes room for one webhook among those intake may hold at once, before its body is read.
    func reserveIntake(bodyBytes: Int, headerBytes: Int) throws(StoreError) -> IntakeReservation
    func releaseIntake(_ reservation: IntakeReservation)
    /// Events in log order, filtered. - Throws: `.notFound` when the filter names no connection.
    func events(_ filter: EventFilter) async throws(StoreError) -> [StoredEvent]
    func event(seq: Int64) async throws(StoreError) -> StoredEvent?
    /// Event counts by status, of one connection or of all.
    func eventCounts(connection: String?) async throws(StoreError) -> [EventStatus: Int]
    /// What waits for the intake writer and how its commits went.
    var intakeQueue: IntakeQueueGauge { get }
}

extension EventLogStore {
    /// Appends with room of its own (refused at once past intake's bound).
    public func append(_ draft: EventDraft) async throws(StoreError) -> AppendResult {
        try await append(draft, reservation: nil)
    }
}

/// Connections and their sealed webhook secrets.
public protocol ConnectionStore: Sendable {
    /// Creates a connection; its id must be new (`.conflict` otherwise).
    func addConnection(
        id: String, provider: String, tenant: String, account: String?, app: String?, toleranceSeconds: Int?,
        webhookSecrets: [String], now: Int64
    ) async throws(StoreError) -> Connection
    func connection(id: String) async throws(StoreError) -> Connection?
    /// Every connection, by id.
    func connections() async throws(StoreError) -> [Connection]
    /// Adds a webhook secret beside those in use (a rotation's first step).
    func addWebhookSecret(connection id: String, secret: String, now: Int64) async throws(StoreError)
    /// Retires a webhook secret (a rotation's last step); the last one in use cannot be retired.
    func retireWebhookSecret(connection id: String, secret: String, now: Int64) async throws(StoreError)
}

/// Named leases: who may poll a resource, sweep it, renew a token or deliver, across processes and nodes.
///
/// A lease is held by a holder name unique to one process (``LeaseHolder/current()``) until its
/// expiry; the writes a lease guards check the holder in their own transaction (fencing), so a run
/// that stalled past its expiry and was taken over writes nothing.
public protocol LeaseStore: Sendable {
    /// Takes (or renews) a named lease until `now + ttl` unless another holder has it unexpired.
    /// Of any number of contenders at once, on any number of nodes, one gets it.
    /// - Returns: whether `holder` has the lease now.
    func acquireLease(_ name: String, holder: String, ttl: Duration, now: Int64) async throws(StoreError) -> Bool
    /// Who holds a lease now, if anyone.
    func leaseHolder(_ name: String) async throws(StoreError) -> (holder: String, expiresAt: Int64)?
    /// Takes a lease from `previous` (known to be dead) before it expires; nothing happens if someone else has it by now.
    func takeOverLease(_ name: String, from previous: String, holder: String, ttl: Duration, now: Int64) async throws(StoreError) -> Bool
    /// Gives a lease back early (a finished run), if `holder` still has it.
    func releaseLease(_ name: String, holder: String) async throws(StoreError)
}

extension LeaseStore {
    /// Takes a lease, or takes it over at once from a holder of this host that no longer runs
    /// (killed mid-run) rather than after its expiry, saying so in the log.
    /// - Returns: whether `holder` holds it now.
    public func claimLease(_ name: String, holder: String, ttl: Duration, now: Int64, logger: Logger) async throws(StoreError) -> Bool {
        if try await acquireLease(name, holder: holder, ttl: ttl, now: now) { return true }
        guard let current = try await leaseHolder(name), LeaseHolder.isDeadLocalProcess(current.holder),
              try await takeOverLease(name, from: current.holder, holder: holder, ttl: ttl, now: now) else { return false }
        logger.notice("took over the lease of a process that no longer runs", metadata: ["lease": "\(name)", "lease.holder": "\(current.holder)"])
        return true
    }
}

/// Service-wide settings (key → text) that every node sees.
public protocol SettingsStore: Sendable {
    /// The value of a setting, or `nil` when it was never set.
    func setting(_ key: String) async throws(StoreError) -> String?
    /// Sets a setting, replacing any value it had.
    func setSetting(_ key: String, to value: String) async throws(StoreError)
    /// Sets a setting only if it has no value yet, atomically: of two processes starting at once, one wins.
    /// - Returns: whether this call stored `value`.
    func setSettingIfAbsent(_ key: String, to value: String) async throws(StoreError) -> Bool
}

/// Poll cursors: where each resource's polling stands, moved only with the page it read.
public protocol PollCursorStore: Sendable {
    /// The poll state of one resource (an empty cursor when it was never polled).
    func pollState(connection: String, resource: String) async throws(StoreError) -> PollState
    /// Every resource's poll state (of one connection, or of all), by connection and resource.
    func pollStates(connection: String?) async throws(StoreError) -> [PollState]
    /// Appends one page's observations (or several pages', with the cursor after the last) and moves
    /// the cursor in **one** transaction, fenced by the lease: if `lease` is no longer held by
    /// `holder` (a run that stalled past its expiry and was taken over), nothing is written and the
    /// error is `.leaseLost`.
    /// - Returns: the append result of each draft, in order.
    func commitPage(
        _ drafts: [EventDraft], connection: String, resource: String, cursor: PollCursor,
        lease: String, holder: String, now: Int64, pages: Int
    ) async throws(StoreError) -> [AppendResult]
    /// Records how a run went and when the next is due (and, given one, a cursor: a reset or a run's end).
    func recordPollRun(
        connection: String, resource: String, startedAt: Int64, finishedAt: Int64, nextRunAt: Int64,
        error: String?, anomaly: String?, cursor: PollCursor?, changed: Bool, stalledRuns: Int?
    ) async throws(StoreError)
}

/// What the webhook watch knows of each connection's deliveries (their freshness and silences).
public protocol FreshnessStore: Sendable {
    /// Every connection's webhook freshness as the watch last saved it.
    func webhookFreshness() async throws(StoreError) -> [String: WebhookFreshness]
    /// Saves what the watch knows of `connection`'s webhooks (a connection removed meanwhile is skipped).
    func saveWebhookFreshness(connection: String, _ freshness: WebhookFreshness) async throws(StoreError)
}

extension Store: EventLogStore, ConnectionStore, LeaseStore, SettingsStore, PollCursorStore, FreshnessStore {}
