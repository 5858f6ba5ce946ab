public import CoreMetrics

/// Every metric Tributary exports, with its type, help text and labels: the one list `/metrics`, the
/// docs and the tests read, so a name cannot be used with two types or two label sets (which the
/// Prometheus client would refuse at run time).
///
/// Labels are bounded: `provider` is a manifest id (or `unknown`), `status` an HTTP status this
/// service or a provider answered, the rest fixed words. A connection label is added only with
/// `TRIBUTARY_METRICS_PER_CONNECTION=1` (see ``Telemetry/perConnection``).
public enum Metric: String, CaseIterable, Sendable {
    case intakeRequests = "tributary_intake_requests_total"
    case intakeAckSeconds = "tributary_intake_ack_seconds"
    case eventsReceived = "tributary_events_received_total"
    case groupCommitBatchSize = "tributary_group_commit_batch_size"
    case intakeQueueDepth = "tributary_intake_queue_depth"
    case events = "tributary_events"
    case upstreamRequests = "tributary_upstream_requests_total"
    case upstreamThrottled = "tributary_upstream_throttled_total"
    case limiterWaitSeconds = "tributary_rate_limiter_wait_seconds_total"
    case pollPages = "tributary_poll_pages_total"
    case pollRuns = "tributary_poll_runs_total"
    case pollEvents = "tributary_poll_events_total"
    case reconcileEvents = "tributary_reconcile_events_total"
    case reconcileLagSeconds = "tributary_reconcile_lag_seconds"
    case fetches = "tributary_fetches_total"
    case sweepDrift = "tributary_sweep_drift_total"
    case anomalies = "tributary_anomalies_total"
    case deliveries = "tributary_deliveries_total"
    case deliveriesWaiting = "tributary_deliveries_waiting"
    case sourceAgeSeconds = "tributary_source_age_seconds"

    public enum Kind: Sendable { case counter, gauge, histogram }

    public var kind: Kind {
        switch self {
        case .intakeAckSeconds, .groupCommitBatchSize, .reconcileLagSeconds: .histogram
        case .intakeQueueDepth, .events, .deliveriesWaiting, .sourceAgeSeconds: .gauge
        default: .counter
        }
    }

    /// The label names every series of the metric carries (besides an optional `connection`).
    public var labels: [String] {
        switch self {
        case .intakeRequests: ["provider", "status"]
        case .intakeAckSeconds: ["provider"]
        case .eventsReceived: ["provider", "outcome"]
        case .groupCommitBatchSize, .intakeQueueDepth, .reconcileLagSeconds: []
        case .events: ["status"]
        case .upstreamRequests: ["provider", "status"]
        case .upstreamThrottled, .limiterWaitSeconds, .pollPages, .pollEvents: ["provider"]
        case .pollRuns: ["provider", "result"]
        case .reconcileEvents: ["outcome"]
        case .fetches: ["result"]
        case .sweepDrift: ["provider", "kind"]
        case .anomalies: ["kind"]
        case .deliveries: ["result"]
        case .deliveriesWaiting: ["status"]
        case .sourceAgeSeconds: ["provider", "source"]
        }
    }

    public var help: String {
        switch self {
        case .intakeRequests: "Webhook requests answered, by provider and HTTP status."
        case .intakeAckSeconds: "Seconds from a webhook request's arrival to its answer (a 2xx only once the event is durable)."
        case .eventsReceived: "Webhook events by what intake did with them: stored, duplicate (already in the log), quarantined."
        case .groupCommitBatchSize: "Events committed per group-commit transaction."
        case .intakeQueueDepth: "Webhook events waiting for the writer now."
        case .events: "Events in the log by status, when scraped."
        case .upstreamRequests: "Requests to provider APIs (polls, fetches, sweeps, subscriptions) by provider and HTTP status (error: no answer)."
        case .upstreamThrottled: "Provider API answers that were 429 Too Many Requests."
        case .limiterWaitSeconds: "Seconds requests waited for the connection's rate limiter."
        case .pollPages: "Pages read by polls."
        case .pollRuns: "Poll runs of one resource by result: ok, not_modified, error, skipped (another process held the lease)."
        case .pollEvents: "New events logged by polls."
        case .reconcileEvents: "Events the reconciler settled: applied to the mirror, superseded by a newer state, unchanged."
        case .reconcileLagSeconds: "Seconds from an event's arrival to the reconciler settling it."
        case .fetches: "Reads of one record's current state from the provider, by result."
        case .sweepDrift: "Records a sweep found wrong in the mirror: missing, stale, or extra (proposed deleted)."
        case .anomalies: "Anomalies raised: cursor (a provider cursor misbehaved), sweep (an untrustworthy enumeration), destination_disabled, silence (a webhook source went quiet while polls still find changes)."
        case .deliveries: "Delivery attempts to destinations by result: delivered, failed (to be retried), dead (retries exhausted), gone (410)."
        case .deliveriesWaiting: "Deliveries pending or dead, when scraped."
        case .sourceAgeSeconds: "Seconds since the newest change a source (webhook or poll) brought, per provider (the oldest across its connections)."
        }
    }

    /// Histogram buckets, for the histograms.
    public var buckets: [Double] {
        switch self {
        case .intakeAckSeconds: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
        case .groupCommitBatchSize: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        case .reconcileLagSeconds: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600]
        default: []
        }
    }
}

/// Where the engine's components record what they do: swift-metrics handlers made by one factory
/// (the Prometheus registry behind `/metrics` in `serve`; nothing by default, so a component made
/// without it costs nothing).
public struct Telemetry: Sendable {
    public let factory: any MetricsFactory
    /// Add a `connection` label to the per-connection metrics (`TRIBUTARY_METRICS_PER_CONNECTION=1`):
    /// one series per connection, which a service with thousands of them should not turn on.
    public let perConnection: Bool

    public init(factory: any MetricsFactory, perConnection: Bool = false) {
        self.factory = factory
        self.perConnection = perConnection
    }

    /// Records nothing.
    public static let off = Telemetry(factory: NOOPMetricsHandler.instance)

    /// Adds `amount` to a counter.
    public func count(_ metric: Metric, _ values: [String] = [], connection: String? = nil, by amount: Int = 1) {
        guard amount > 0 else { return }
        factory.makeCounter(label: metric.rawValue, dimensions: dimensions(metric, values, connection)).increment(by: Int64(amount))
    }

    /// Adds `amount` (a fraction, such as seconds) to a counter.
    public func count(_ metric: Metric, _ values: [String] = [], connection: String? = nil, adding amount: Double) {
        guard amount > 0 else { return }
        factory.makeFloatingPointCounter(label: metric.rawValue, dimensions: dimensions(metric, values, connection)).increment(by: amount)
    }

    /// Records one observation of a histogram with labels `values`.
    public func observe(_ metric: Metric, _ values: [String], _ value: Double) {
        factory.makeRecorder(label: metric.rawValue, dimensions: dimensions(metric, values, nil), aggregate: true).record(value)
    }

    /// Records one observation of a histogram without labels.
    public func observe(_ metric: Metric, _ value: Double) { observe(metric, [], value) }

    /// Sets a gauge with labels `values`.
    public func set(_ metric: Metric, _ values: [String], _ value: Double) {
        factory.makeMeter(label: metric.rawValue, dimensions: dimensions(metric, values, nil)).set(value)
    }

    /// Sets a gauge without labels.
    public func set(_ metric: Metric, _ value: Double) { set(metric, [], value) }

    func dimensions(_ metric: Metric, _ values: [String], _ connection: String?) -> [(String, String)] {
        // Every label always present (a missing value is `unknown`): the client refuses a family whose
        // series disagree on having labels.
        var dimensions = metric.labels.enumerated().map { index, name in (name, index < values.count ? values[index] : "unknown") }
        if perConnection, let connection { dimensions.append(("connection", connection)) }
        return dimensions
    }
}
