public import Logging
import Synchronization
import TributaryCore

/// A fake third-party API: records that change, listed in four cursor styles, behind rate limits and chaos.
///
/// The whole project tests and benchmarks its pollers, rate limiter and reconciler against
/// it, so everything it does is reproducible from ``SimulatorConfiguration/seed`` and the
/// injected ``SimulatorClock``: the same seed and the same calls give the same records,
/// events, chaos draws and webhook drops. `GET /_sim/state` is the ground truth a client's
/// result is compared with.
///
/// Shared state lives behind small mutexes — data, traffic, webhook planning, loop rate —
/// none held across an `await` and none taken inside another; only the webhook emitter's
/// HTTP calls and added latency suspend.
///
/// Serve it with ``application(onServerRunning:)``, whose services run the background
/// mutation loop and the webhook emitter; or drive it from Swift with ``mutate(count:)``
/// and ``WebhookEmitter/deliverPending()``.
public final class ProviderSimulator: Sendable {
    public let configuration: SimulatorConfiguration
    public let clock: any SimulatorClock
    let logger: Logger
    private let state: Mutex<SimulatorState>
    private let traffic: Mutex<TrafficGate>
    private let planner: Mutex<WebhookPlanner?>
    /// One batch of webhook deliveries at a time, whoever delivers.
    let deliveryTurns = DeliveryTurns()
    /// The background loop's rate; `nil` while stopped.
    private let running: Mutex<Double?>
    /// Signalled when the mutation loop is started, stopped or re-rated.
    let controlWakeups = Wakeups()
    /// Signalled after every batch of changes (webhook emitter, ``waitForChanges(atLeast:)``).
    let changeWakeups = Wakeups()
    let requestWakeups = Wakeups()
    private let webhookKey: [UInt8]?
    /// The OAuth server, when configured.
    let oauth: SimulatorOAuth?
    let subscriptionStore: SimulatorSubscriptions

    /// Checks `configuration` and creates the initial records.
    ///
    /// - Throws: ``SimulatorError`` naming the first invalid key — among them a webhook URL that is not a
    ///   loopback literal, refused here, before anything could connect to it.
    public init(configuration: SimulatorConfiguration, clock: any SimulatorClock = SystemSimulatorClock(), logger: Logger) throws(SimulatorError) {
        try configuration.validate()
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        var seeds = SplitMix64(seed: configuration.seed)
        let dataRandom = seeds.split()
        let trafficRandom = seeds.split()
        let webhookRandom = seeds.split()
        state = Mutex(SimulatorState(configuration: configuration, random: dataRandom, now: clock.nowMicroseconds()))
        traffic = Mutex(TrafficGate(configuration: configuration, random: trafficRandom))
        planner = Mutex(configuration.webhooks.map { WebhookPlanner(configuration: $0, random: webhookRandom) })
        webhookKey = try configuration.webhooks?.signingKey()
        running = Mutex(configuration.mutationsPerSecond)
        oauth = configuration.oauth.map(SimulatorOAuth.init)
        subscriptionStore = SimulatorSubscriptions(maxSeconds: configuration.subscriptionMaxSeconds)
    }

    /// The live webhook subscriptions made through `/v1/subscriptions`.
    public func subscriptions() -> [SimulatorSubscription] { subscriptionStore.all(now: clock.nowMicroseconds()) }

    /// Subscriptions created so far (renewals not counted).
    public var subscriptionsCreated: Int { subscriptionStore.created }

    /// Renewals answered 200 by `PATCH /v1/subscriptions/{id}`, over every subscription ever made.
    public var subscriptionsRenewed: Int { subscriptionStore.renewed }

    /// Ends every subscription now, as a provider does when one is not renewed in time.
    public func expireSubscriptions() { subscriptionStore.expireAll() }

    /// What the OAuth server did (zero when there is none).
    public var oauthCounters: SimulatorOAuthCounters { oauth?.counters ?? SimulatorOAuthCounters() }

    /// A grant as if a customer had just authorized `client` (tests that start from an authorized connection).
    public func issueGrant(client: String, scope: String? = nil) -> (accessToken: String, refreshToken: String)? {
        oauth?.issueGrant(client: client, scope: scope, now: clock.nowMicroseconds())
    }

    /// Queues `count` answers of the token endpoint: `server-error`, `html`, `no-access-token` or `invalid-grant`.
    public func failTokenRequests(_ mode: String, count: Int = 1) {
        guard let chaos = SimulatorOAuth.Chaos(rawValue: mode) else { return }
        oauth?.queueChaos(chaos, count: count)
    }

    /// Ends every OAuth access token now: the next API call with one is 401 although the client thinks it valid.
    public func expireAccessTokens() { oauth?.expireAccessTokens() }

    /// Stops (or with `false`, resumes) sending webhooks while records keep changing: each change's
    /// delivery is dropped, as a provider's are in a webhook outage. The API still answers.
    public func silenceWebhooks(_ silenced: Bool = true) { planner.withLock { $0?.silenced = silenced } }

    // MARK: Changes

    /// Applies `count` generated changes at the current simulator time, in order, and returns them.
    ///
    /// With a clock that does not move (or whole-second granularity), they share one `updated_at`.
    @discardableResult
    public func mutate(count: Int) -> [SimulatorChange] {
        guard count > 0 else { return [] }
        let now = clock.nowMicroseconds()
        let changes = state.withLock { state in (0..<count).map { _ in state.mutateRandomly(now: now) } }
        changeWakeups.signal()
        return changes
    }

    /// Creates one record of `type`.
    @discardableResult
    public func create(type: String) throws(SimulatorError) -> SimulatorChange {
        let now = clock.nowMicroseconds()
        let change = try state.withLock { (state) throws(SimulatorError) -> SimulatorChange in
            guard state.tables[type] != nil else { throw SimulatorError(.unknownType, "no record type \"\(type)\"") }
            return state.create(type: type, now: now)
        }
        changeWakeups.signal()
        return change
    }

    /// Edits the live record `id` of `type`.
    @discardableResult
    public func update(type: String, id: String) throws(SimulatorError) -> SimulatorChange {
        let now = clock.nowMicroseconds()
        let change = try state.withLock { (state) throws(SimulatorError) -> SimulatorChange in try state.update(type: type, id: id, now: now) }
        changeWakeups.signal()
        return change
    }

    /// Deletes the live record `id` of `type`, leaving a tombstone (version bumped, `updated_at` = now).
    @discardableResult
    public func delete(type: String, id: String) throws(SimulatorError) -> SimulatorChange {
        let now = clock.nowMicroseconds()
        let change = try state.withLock { (state) throws(SimulatorError) -> SimulatorChange in try state.delete(type: type, id: id, now: now) }
        changeWakeups.signal()
        return change
    }

    /// Returns once at least `total` authenticated API requests have arrived, or when the task is cancelled.
    ///
    /// Lets a test act at a known point of a client's run (say, kill it after its fifth page) without sleeping.
    public func waitForRequests(atLeast total: Int) async {
        for await _ in requestWakeups.subscribe() where counters().requests >= total {
            return
        }
    }

    /// Returns once at least `total` changes (initial records included) have been made, or when the task is cancelled.
    public func waitForChanges(atLeast total: Int) async {
        for await _ in changeWakeups.subscribe() where counters().changes >= total {
            return
        }
    }

    // MARK: Background mutations

    /// Starts (or re-rates) the background mutation loop. It runs while ``application(onServerRunning:)``'s services run.
    public func startMutations(rate: Double) throws(SimulatorError) {
        guard rate > 0, rate <= 100_000 else { throw .configuration("rate", "must be in (0, 100000], not \(rate)") }
        running.withLock { $0 = rate }
        controlWakeups.signal()
    }

    /// Applies `count` generated changes only if the background loop is still started.
    ///
    /// Holds the start/stop lock while mutating, so once ``stopMutations()`` returns no
    /// background change can land — a test's "after mutations stop" is then exact.
    func mutateIfRunning(count: Int) {
        running.withLock { rate in
            guard rate != nil else { return }
            _ = mutate(count: count)
        }
    }

    public func stopMutations() {
        running.withLock { $0 = nil }
        controlWakeups.signal()
    }

    /// Changes per second of the background loop, `nil` when stopped.
    public var mutationRate: Double? { running.withLock { $0 } }

    // MARK: Reading

    /// The latest version of one record, tombstones included.
    public func record(type: String, id: String) -> SimulatorRecord? {
        state.withLock { $0.tables[type]?.records[id] }
    }

    /// Every record, tombstones included, sorted by type then id: the ground truth.
    public func records() -> [SimulatorRecord] {
        state.withLock { $0.allRecords }
    }

    /// The ground truth as `GET /_sim/state` sends it.
    public func stateJSONText() -> String {
        "{\"records\":[" + records().map(\.jsonText).joined(separator: ",") + "]}"
    }

    public func counters() -> SimulatorCounters {
        var counters = SimulatorCounters()
        let gate = traffic.withLock { $0.counters }
        counters.requests = gate.requests
        counters.unauthorized = gate.unauthorized
        counters.rateLimited = gate.rateLimited
        counters.chaosRateLimited = gate.chaosRateLimited
        counters.serverErrors = gate.serverErrors
        counters.violations = gate.violations
        let (totals, overflow) = state.withLock { ($0.totals, $0.outboxOverflow) }
        counters.created = totals.created
        counters.updated = totals.updated
        counters.deleted = totals.deleted
        counters.webhooksOverflowed = overflow
        if let webhooks = planner.withLock({ $0?.counters }) {
            counters.webhooksSent = webhooks.sent
            counters.webhooksDelivered = webhooks.delivered
            counters.webhooksFailed = webhooks.failed
            counters.webhooksDropped = webhooks.dropped
            counters.webhooksDuplicated = webhooks.duplicated
        }
        return counters
    }

    /// Zeroes traffic and webhook counters (change totals stay: they describe the data).
    public func resetCounters() {
        traffic.withLock { $0.resetCounters() }
        planner.withLock { $0?.counters = WebhookPlanner.Counters() }
    }

    // MARK: For the routes and the emitter

    /// Runs `body` on the data at the current simulator time, after pruning expired events.
    func read<Value: Sendable>(_ body: (inout SimulatorState, Int64) -> Value) -> Value {
        let now = clock.nowMicroseconds()
        return state.withLock { state in
            state.pruneEvents(now: now)
            return body(&state, now)
        }
    }

    func admit(token: String) -> TrafficGate.Decision {
        let now = clock.nowMicroseconds()
        defer { requestWakeups.signal() }
        return traffic.withLock { $0.admit(token: token, now: now) }
    }

    func refuseUnauthorized() {
        traffic.withLock { $0.refuseUnauthorized() }
    }

    /// The queued webhook messages turned into deliveries (dropped, doubled, reordered), oldest first.
    func takeWebhookDeliveries() -> [WebhookMessage] {
        let messages = state.withLock { $0.takeOutbox() }
        guard !messages.isEmpty else { return [] }
        return planner.withLock { $0?.plan(messages) ?? [] }
    }

    func recordWebhookAttempt(delivered: Bool) {
        planner.withLock { planner in
            planner?.counters.sent += 1
            if delivered { planner?.counters.delivered += 1 } else { planner?.counters.failed += 1 }
        }
    }

    /// The webhook emitter, when webhooks are configured.
    public var webhookEmitter: WebhookEmitter? {
        guard let webhooks = configuration.webhooks, let webhookKey else { return nil }
        return WebhookEmitter(simulator: self, configuration: webhooks, key: webhookKey)
    }
}
