import CoreMetrics
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import Prometheus
import TributaryCore
import TributaryProviders
import TributaryStore
public import TributaryTelemetry

/// The engine's metrics: a Prometheus registry of its own (tests run many engines in one process, so
/// nothing is bootstrapped globally), the ``Telemetry`` its components record into, and `GET /metrics`.
///
/// Counters and histograms are recorded as things happen; what the store knows (events by status,
/// deliveries waiting, the intake queue) is read when scraped.
public final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    public let telemetry: Telemetry

    /// - Parameter perConnection: add a `connection` label to the per-connection metrics.
    public init(perConnection: Bool) {
        telemetry = Telemetry(factory: RegistryFactory(registry: registry), perConnection: perConnection)
    }

    /// The exposition text (Prometheus text format 0.0.4), after reading the store's figures.
    func render(store: Store, now: Int64) async -> [UInt8] {
        if let counts = try? await store.eventCounts() {
            for status in EventStatus.allCases { telemetry.set(.events, [status.rawValue], Double(counts[status] ?? 0)) }
        }
        if let waiting = try? await store.deliveryCounts() {
            telemetry.set(.deliveriesWaiting, ["pending"], Double(waiting.values.reduce(0) { $0 + $1.pending }))
            telemetry.set(.deliveriesWaiting, ["dead"], Double(waiting.values.reduce(0) { $0 + $1.dead }))
        }
        telemetry.set(.intakeQueueDepth, Double(store.intakeQueue.waitingEvents))
        await setSourceAges(store: store, now: now)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }

    /// Per provider and source, the age of the newest change the stalest connection brought: for
    /// webhooks since the last one arrived, for polls since the newest change a poll saw.
    func setSourceAges(store: Store, now: Int64) async {
        guard let connections = try? await store.connections(), let webhooks = try? await store.webhookFreshness(),
              let polls = try? await store.pollStates() else { return }
        let provider = Dictionary(connections.map { ($0.id, $0.provider) }, uniquingKeysWith: { first, _ in first })
        var ages: [String: Double] = [:]
        for (connection, freshness) in webhooks {
            guard let name = provider[connection] else { continue }
            ages[name + "\u{0}webhook", default: 0] = max(ages[name + "\u{0}webhook", default: 0], Double(max(0, now - freshness.lastReceivedAt)) / 1e6)
        }
        for state in polls {
            guard let name = provider[state.connection], let newest = state.newestChangeAt else { continue }
            ages[name + "\u{0}poll", default: 0] = max(ages[name + "\u{0}poll", default: 0], Double(max(0, now - newest)) / 1e6)
        }
        for (key, age) in ages {
            let parts = key.split(separator: "\u{0}", maxSplits: 1).map(String.init)
            telemetry.set(.sourceAgeSeconds, parts, age)
        }
    }

    /// `GET /metrics`; with `token`, only for `Authorization: Bearer <token>` (401 otherwise).
    func addRoute<Context: RequestContext>(to router: Router<Context>, store: Store, token: String?, now: @escaping @Sendable () -> Int64) {
        let expected = token.map { TokenDigest(of: $0) }
        router.get("/metrics") { request, _ -> Response in
            if let expected {
                // As the admin token is checked: digests compared in constant time; the scheme is case-insensitive.
                let parts = (request.headers[.authorization] ?? "").split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
                let presented = parts.count == 2 && parts[0].lowercased() == "bearer" ? parts[1].trimmingCharacters(in: .whitespaces) : ""
                guard !presented.isEmpty, TokenDigest(of: presented).matches(expected) else {
                    return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer", .contentType: "text/plain; charset=utf-8"],
                                    body: .init(byteBuffer: ByteBuffer(string: "/metrics needs Authorization: Bearer <TRIBUTARY_METRICS_TOKEN>\n")))
                }
            }
            let text = await self.render(store: store, now: now())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: text))
            )
        }
    }

    /// Counts every webhook request by provider and status, and times its answer.
    struct IntakeMiddleware<Context: RequestContext>: RouterMiddleware {
        let telemetry: Telemetry
        let providers: Set<String>

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            let path = request.uri.path
            guard path.hasPrefix("/webhooks/") else { return try await next(request, context) }
            let started = ContinuousClock.now
            // Only a provider the catalog knows names a series: a path is whatever a client sends.
            let segment = path.dropFirst("/webhooks/".count).prefix { $0 != "/" }
            let provider = providers.contains(String(segment)) ? String(segment) : "unknown"
            let status: Int
            do {
                let response = try await next(request, context)
                status = response.status.code
                record(provider, status, since: started)
                return response
            } catch let error as any HTTPResponseError {
                status = error.status.code
                record(provider, status, since: started)
                throw error
            } catch {
                record(provider, 500, since: started)
                throw error
            }
        }

        func record(_ provider: String, _ status: Int, since started: ContinuousClock.Instant) {
            let elapsed = ContinuousClock.now - started
            telemetry.count(.intakeRequests, [provider, String(status)])
            telemetry.observe(.intakeAckSeconds, [provider], Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
    }
}

/// swift-metrics over one Prometheus registry, with each ``Metric``'s help text and buckets.
struct RegistryFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry

    func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: Metric(rawValue: label)?.help ?? "")
    }

    func counter(_ label: String, _ dimensions: [(String, String)]) -> Prometheus.Counter {
        dimensions.isEmpty ? registry.makeCounter(descriptor: descriptor(label)) : registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func gauge(_ label: String, _ dimensions: [(String, String)]) -> Prometheus.Gauge {
        dimensions.isEmpty ? registry.makeGauge(descriptor: descriptor(label)) : registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { counter(label, dimensions) }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler { counter(label, dimensions) }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return gauge(label, dimensions) }
        let buckets = Metric(rawValue: label)?.buckets.nilIfEmpty ?? [0.001, 0.01, 0.1, 1, 10, 100]
        return dimensions.isEmpty
            ? registry.makeValueHistogram(descriptor: descriptor(label), buckets: buckets)
            : registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { gauge(label, dimensions) }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let buckets: [Duration] = [.milliseconds(1), .milliseconds(10), .milliseconds(100), .seconds(1), .seconds(10)]
        return dimensions.isEmpty
            ? registry.makeDurationHistogram(descriptor: descriptor(label), buckets: buckets)
            : registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}

extension Array {
    fileprivate var nilIfEmpty: Self? { isEmpty ? nil : self }
}
