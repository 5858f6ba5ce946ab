import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
public import ServiceLifecycle

/// Sends the simulator's changes as Standard Webhooks deliveries to the configured loopback receiver.
///
/// Each delivery is `POST <url>` with body `{"type":"customer.updated","timestamp":"<RFC 3339>","data":{record}}`
/// and the headers `webhook-id` (the event id, the same on a duplicate), `webhook-timestamp`
/// (simulator time, Unix seconds, at sending) and `webhook-signature: v1,<base64 HMAC-SHA256 of
/// "{id}.{timestamp}.{body}">`, keyed with the base64-decoded part of the secret after `whsec_`.
///
/// As a `Service` it waits for changes and delivers them one at a time, in planned order; on
/// graceful shutdown it delivers what is already queued, then returns. Tests call
/// ``deliverPending()`` directly instead, which makes delivery a deterministic step.
///
/// ``run()`` and ``deliverPending()`` may run at once: batches take turns (``DeliveryTurns``), so when
/// `deliverPending()` returns, every change queued before it was called has been sent.
public struct WebhookEmitter: Service {
    let simulator: ProviderSimulator
    let configuration: WebhookConfiguration
    let key: SymmetricKey

    init(simulator: ProviderSimulator, configuration: WebhookConfiguration, key: [UInt8]) {
        self.simulator = simulator
        self.configuration = configuration
        self.key = SymmetricKey(data: key)
    }

    /// What one ``deliverPending()`` did.
    public struct Report: Sendable, Equatable {
        /// POSTs attempted (a duplicated change counts twice; dropped ones not at all).
        public var attempted = 0
        /// POSTs answered 2xx.
        public var delivered = 0
        /// POSTs that failed or were answered otherwise.
        public var failed = 0

        public init(attempted: Int = 0, delivered: Int = 0, failed: Int = 0) {
            self.attempted = attempted
            self.delivered = delivered
            self.failed = failed
        }
    }

    public func run() async throws {
        for await _ in simulator.changeWakeups.subscribe().cancelOnGracefulShutdown() {
            await deliverPending()
        }
        if !Task.isCancelled { await deliverPending() }
    }

    /// Delivers every change queued so far (after drop, duplicate and reorder chaos) and returns when all were sent.
    @discardableResult
    public func deliverPending() async -> Report {
        // Waits for a batch the service loop is sending, so that on return nothing taken is still in flight.
        await simulator.deliveryTurns.acquire()
        let report = await deliverBatch()
        await simulator.deliveryTurns.release()
        return report
    }

    private func deliverBatch() async -> Report {
        var report = Report()
        for message in simulator.takeWebhookDeliveries() {
            if Task.isCancelled { break }
            let delivered = await send(message)
            simulator.recordWebhookAttempt(delivered: delivered)
            report.attempted += 1
            if delivered { report.delivered += 1 } else { report.failed += 1 }
        }
        return report
    }

    /// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
    static func signature(id: String, timestamp: Int64, body: String, key: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).\(body)".utf8), using: key)
        return "v1," + Data(mac).base64EncodedString()
    }

    /// Sends to the configured URL, or to each live subscription (all must take it).
    private func send(_ message: WebhookMessage) async -> Bool {
        guard configuration.toSubscriptions else { return await send(message, to: configuration.url, key: key) }
        let live = simulator.subscriptions()
        guard !live.isEmpty else {
            simulator.logger.debug("no live subscription: the delivery goes nowhere", metadata: ["webhook.id": "\(message.id)"])
            return false
        }
        var delivered = true
        for subscription in live {
            // Only loopback receivers, whatever a subscription was created with.
            guard (try? LoopbackURL(subscription.url)) != nil else {
                delivered = false
                continue
            }
            let key = subscription.secret.flatMap(WebhookConfiguration.signingKey).map { SymmetricKey(data: $0) } ?? self.key
            delivered = await send(message, to: subscription.url, key: key) && delivered
        }
        return delivered
    }

    private func send(_ message: WebhookMessage, to url: String, key: SymmetricKey) async -> Bool {
        let body = message.body
        let timestamp = simulator.clock.nowMicroseconds().floorDivided(by: 1_000_000)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "tributary-sim")
        request.headers.add(name: "webhook-id", value: message.id)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(name: "webhook-signature", value: Self.signature(id: message.id, timestamp: timestamp, body: body, key: key))
        request.body = .bytes(ByteBuffer(string: body))
        let (seconds, attoseconds) = configuration.timeout.components
        let timeout = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            _ = try await response.body.collect(upTo: 1 << 20)
            let ok = (200..<300).contains(Int(response.status.code))
            if !ok {
                simulator.logger.debug("webhook refused by receiver", metadata: ["webhook.id": "\(message.id)", "status": "\(response.status.code)"])
            }
            return ok
        } catch {
            simulator.logger.debug("webhook delivery failed", metadata: ["webhook.id": "\(message.id)", "error": "\(error)"])
            return false
        }
    }
}
