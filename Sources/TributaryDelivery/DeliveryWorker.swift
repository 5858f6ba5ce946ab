import Foundation
public import Logging
import Synchronization
public import TributaryCore
public import TributaryScheduling
public import TributaryStore
public import TributaryUpstream
public import TributaryTelemetry

/// Sends the outbox to each destination: signed per Standard Webhooks, tagged with the tenant, retried
/// on Standard Webhooks' schedule, one delivery per record at a time and in order.
///
/// A pass takes, for each active destination, the oldest pending delivery of each record that is due
/// (a round of up to 16 × `concurrency` records), sends them `concurrency` at a time, records the
/// round's answers in one commit, and takes the next round until nothing is due. A record's next delivery is only taken once the one before it was
/// recorded, so a later version never overtakes an earlier one still pending. A 410 disables the
/// destination at once; a destination whose every attempt has failed for `disableAfter` is disabled
/// too, with an anomaly in the log. What the schedule gives up on is `dead`, listed by
/// `deliveries list --status dead` and sent again by `deliveries retry`.
public struct DeliveryWorker: Sendable {
    let store: Store
    let transport: any UpstreamTransport
    let clock: EngineClock
    public let schedule: DeliverySchedule
    let concurrency: Int
    let disableAfter: Int64
    let retention: DeliveryRetention
    /// Counts attempts by result, and destinations disabled.
    let telemetry: Telemetry
    /// When the outbox was last pruned (µs); at most once a minute.
    private let lastPrune = LastPrune()

    /// - Parameters:
    ///   - transport: an ``HTTPTransport`` behind the outbound guard of the upstream calls (the same
    ///     `--allow-private-upstreams` setting), following no redirect.
    ///   - disableAfter: microseconds of failing continuously after which a destination is disabled.
    ///   - retention: how long delivered and dead deliveries are kept.
    public init(
        store: Store, transport: any UpstreamTransport, clock: EngineClock, schedule: DeliverySchedule = .standard, concurrency: Int = 8,
        disableAfter: Int64 = 5 * 86_400 * 1_000_000, retention: DeliveryRetention = DeliveryRetention(), telemetry: Telemetry = .off
    ) {
        self.telemetry = telemetry
        self.retention = retention
        self.store = store
        self.transport = transport
        self.clock = clock
        self.schedule = schedule
        self.concurrency = max(1, concurrency)
        self.disableAfter = disableAfter
    }

    /// What one pass did.
    public struct Report: Sendable, Equatable {
        public var delivered = 0
        public var failed = 0
        public var dead = 0
        public init() {}
    }

    /// Sends everything due now, destinations in parallel; one destination's failure (its store call,
    /// its secret) is logged and does not stop the others.
    @discardableResult
    public func runOnce(logger: Logger) async throws -> Report {
        try await pruneIfDue(logger: logger)
        let destinations = try await store.destinations().filter { $0.state == .active }
        return await withTaskGroup(of: Report.self) { group in
            for destination in destinations {
                group.addTask {
                    do {
                        return try await self.drain(destination, logger: logger)
                    } catch {
                        if !(error is CancellationError) {
                            logger.error("cannot deliver to a destination this pass", metadata: ["destination": "\(destination.id)", "error": "\(error)"])
                        }
                        return Report()
                    }
                }
            }
            var total = Report()
            for await report in group {
                total.delivered += report.delivered
                total.failed += report.failed
                total.dead += report.dead
            }
            return total
        }
    }

    /// Deletes what retention no longer keeps, once a minute, in transactions of at most 2,000 rows
    /// (a backlog of a million rows is gone within minutes without ever holding the write lock long).
    func pruneIfDue(logger: Logger) async throws {
        let now = clock.now()
        let due = lastPrune.time.withLock { last in
            guard last == .min || now - last >= 60_000_000 else { return false }
            last = now
            return true
        }
        guard due else { return }
        var pruned = 0
        for _ in 0..<50 {
            let deleted = try await store.pruneDeliveries(deliveredBefore: now - retention.delivered, deadBefore: now - retention.dead)
            pruned += deleted
            if deleted < 2000 { break }
            await Task.yield()
        }
        if pruned > 0 { logger.info("pruned deliveries past their retention", metadata: ["deleted": "\(pruned)"]) }
    }

    /// Who holds `delivery:<destination>` while it sends: two processes never send one destination's
    /// deliveries at once (which could send a record's next version while the other still sends this one).
    let holder = LeaseHolder.current()
    static let leaseTTL: Duration = .seconds(60)

    public func service(tick: Duration = .milliseconds(250), logger: Logger) -> PeriodicService {
        PeriodicService(name: "delivery", tick: tick, jitter: 0.1, clock: clock, logger: logger) {
            try await self.runOnce(logger: logger)
        }
    }

    /// Rounds of at most `concurrency` records' head deliveries until none is due (or the destination
    /// stopped being active).
    func drain(_ destination: Destination, logger: Logger) async throws -> Report {
        let lease = "delivery:" + destination.id
        guard try await store.claimLease(lease, holder: holder, ttl: Self.leaseTTL, now: clock.now(), logger: logger) else { return Report() }
        do {
            let report = try await drainHoldingLease(destination, lease: lease, logger: logger)
            try? await store.releaseLease(lease, holder: holder)
            return report
        } catch {
            try? await store.releaseLease(lease, holder: holder)
            throw error
        }
    }

    func drainHoldingLease(_ destination: Destination, lease: String, logger: Logger) async throws -> Report {
        var report = Report()
        var leaseClaimedAt = clock.now()
        var secrets = try await store.destinationSecrets(id: destination.id)
        var rounds = 0
        while rounds < 1000, !Task.isCancelled {
            rounds += 1
            // Paused or disabled meanwhile (`destinations pause`): stop at the round's boundary.
            guard try await store.destination(id: destination.id)?.state == .active else { break }
            // Renewed a third of the way through its life, so it never lapses while this process sends.
            if clock.now() - leaseClaimedAt > Self.leaseTTL.microseconds / 3 {
                guard try await store.claimLease(lease, holder: holder, ttl: Self.leaseTTL, now: clock.now(), logger: logger) else { break }
                leaseClaimedAt = clock.now()
            }
            // A round is up to `roundSize` records' head deliveries, `concurrency` of them in flight at
            // once; its attempts are recorded in one commit. Replays take at most a quarter of it:
            // live changes are never starved by them.
            let roundSize = concurrency * 16
            let due = try await store.dueDeliveries(destination: destination.id, now: clock.now(), limit: roundSize, replays: max(1, roundSize / 4), busy: [])
            if due.isEmpty { break }
            if rounds % 20 == 0 { secrets = try await store.destinationSecrets(id: destination.id) }
            let signing = secrets
            let attempts = await withTaskGroup(of: Attempt.self) { group in
                var waiting = due[...]
                var done: [Attempt] = []
                done.reserveCapacity(due.count)
                // At most `concurrency` in flight: each finished send lets the next one go.
                for _ in 0..<min(concurrency, waiting.count) {
                    let delivery = waiting.removeFirst()
                    group.addTask { await self.send(delivery, to: destination, secrets: signing) }
                }
                while let attempt = await group.next() {
                    done.append(attempt)
                    if let delivery = waiting.first {
                        waiting.removeFirst()
                        group.addTask { await self.send(delivery, to: destination, secrets: signing) }
                    }
                }
                return done
            }
            // One commit for the round. A send cut short by shutdown is not an attempt: it goes again.
            try await store.recordDeliveryAttempts(attempts.filter { $0.outcome != .cancelled }.map(\.recorded))
            if attempts.contains(where: { $0.outcome == .cancelled }) { break }
            var stop = false
            for attempt in attempts where attempt.outcome != .cancelled {
                telemetry.count(.deliveries, ["\(attempt.outcome)"])
            }
            for attempt in attempts {
                switch attempt.outcome {
                case .delivered: report.delivered += 1
                case .failed, .dead:
                    if attempt.outcome == .dead { report.dead += 1 } else { report.failed += 1 }
                    let level: Logger.Level = attempt.outcome == .dead ? .warning : .info
                    logger.log(level: level, attempt.outcome == .dead ? "delivery dead after its last attempt" : "delivery failed; retrying", metadata: [
                        "destination": "\(destination.id)", "delivery": "\(attempt.recorded.delivery)", "reason": "\(attempt.recorded.error ?? "")",
                        "next_attempt_at": "\(attempt.recorded.nextAttemptAt.map { Timestamp.rfc3339(microseconds: $0) } ?? "none")",
                    ])
                case .gone:
                    report.failed += 1
                    stop = true
                case .cancelled: break
                }
            }
            if stop {
                try await store.setDestinationState(id: destination.id, .disabled, reason: "the receiver answered 410 Gone", now: clock.now())
                telemetry.count(.anomalies, ["destination_disabled"])
                logger.error("destination disabled: the receiver answered 410 Gone", metadata: ["destination": "\(destination.id)"])
                break
            }
            if attempts.contains(where: { $0.outcome != .delivered }), try await disableIfFailingTooLong(destination.id, logger: logger) { break }
        }
        return report
    }

    enum Outcome {
        case delivered, failed, dead
        /// 410: the destination is disabled.
        case gone
        /// The process is shutting down: not recorded, sent again later.
        case cancelled
    }

    /// One attempt, as it is recorded and what it means for the round.
    struct Attempt {
        var recorded: Store.DeliveryAttempt
        var outcome: Outcome
    }

    func send(_ delivery: Delivery, to destination: Destination, secrets: [String]) async -> Attempt {
        let now = clock.now()
        let timestamp = now / 1_000_000
        let request = UpstreamRequest(method: "POST", url: destination.url, headers: [
            ("Content-Type", "application/json"), ("User-Agent", "tributary"),
            ("webhook-id", delivery.webhookID), ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", StandardWebhooks.signature(id: delivery.webhookID, timestamp: timestamp, body: delivery.payload, secrets: secrets)),
            ("Tributary-Tenant", delivery.tenant), ("Tributary-Connection", delivery.connection), ("Tributary-Provider", delivery.provider),
        ], body: delivery.payload)
        var status: Int?
        var failure: String?
        var response: String?
        var retryAfter: Int64?
        do {
            let answer = try await transport.send(request)
            status = answer.status
            response = Self.kept(answer.body)
            if [429, 503].contains(answer.status), let text = answer.header("Retry-After"), let until = RateLimitSignals.retryAfter(text, now: now) {
                retryAfter = until - now
            }
        } catch {
            failure = "\(UpstreamClient.cause(of: error))"
            if error is CancellationError || Task.isCancelled {
                return Attempt(recorded: Store.DeliveryAttempt(
                    delivery: delivery.id, destination: delivery.destination, status: nil, error: nil, response: nil, nextAttemptAt: nil, at: clock.now()
                ), outcome: .cancelled)
            }
        }
        let finished = clock.now()
        func attempt(_ next: Int64?, _ outcome: Outcome, error: String?) -> Attempt {
            Attempt(recorded: Store.DeliveryAttempt(
                delivery: delivery.id, destination: delivery.destination, status: status, error: error, response: response, nextAttemptAt: next, at: finished
            ), outcome: outcome)
        }
        if let status, (200..<300).contains(status) { return attempt(nil, .delivered, error: nil) }
        // Gone: the receiver says never again. The delivery stays pending, sent once the destination is resumed.
        if status == 410 { return attempt(finished, .gone, error: "410 Gone") }
        var random = SplitMix64(seed: UInt64(bitPattern: delivery.id) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(bitPattern: finished))
        let next = schedule.next(after: delivery.attempts + 1, now: finished, retryAfter: retryAfter, random: random.nextUnit())
        return attempt(next, next == nil ? .dead : .failed, error: failure ?? "HTTP \(status ?? 0)")
    }

    /// The start of an answer as kept: at most ``Delivery/keptResponseBytes`` of UTF-8 (bytes that are
    /// not UTF-8 become U+FFFD, three bytes each, so the text is cut again after decoding).
    static func kept(_ body: [UInt8]) -> String {
        var text = String(decoding: body.prefix(Delivery.keptResponseBytes), as: UTF8.self)
        while text.utf8.count > Delivery.keptResponseBytes { text.removeLast() }
        return text
    }

    /// Disables a destination that has failed continuously for `disableAfter`.
    /// - Returns: whether it was disabled.
    func disableIfFailingTooLong(_ id: String, logger: Logger) async throws -> Bool {
        guard let destination = try await store.destination(id: id), let since = destination.failingSince else { return false }
        let now = clock.now()
        guard now - since >= disableAfter else { return false }
        let reason = "every delivery failed since \(Timestamp.rfc3339(microseconds: since))"
        try await store.setDestinationState(id: id, .disabled, reason: reason, now: now)
        telemetry.count(.anomalies, ["destination_disabled"])
        logger.error("anomaly: destination disabled", metadata: ["destination": "\(id)", "reason": "\(reason)"])
        return true
    }
}

/// When the outbox was last pruned, shared by the copies of one worker.
private final class LastPrune: Sendable {
    let time = Mutex<Int64>(.min)
}
