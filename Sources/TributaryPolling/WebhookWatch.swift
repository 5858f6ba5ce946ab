public import Logging
import Synchronization
public import TributaryCore
public import TributaryScheduling
public import TributaryStore
public import TributaryTelemetry

/// Notices a provider that stopped sending webhooks while its records keep changing: the failure no
/// peer watches for, since nothing errors — events simply stop.
///
/// It reads the log as it grows (seq, connection, source, record type and times; never bodies). A
/// connection whose webhooks came before (at least ``minimumWebhooks``) is **silent** when a poll
/// finds a change of a record type its webhooks bring, made after the last webhook arrived, and no
/// webhook has come for `window` since that change: webhooks arrive within seconds of a change, so
/// the provider's webhook for it is not coming. Then it raises the anomaly once (the log, the
/// metrics, `status`) and polls the connection at once, a gap poll that fetches whatever else the
/// silence hid; polls carry the connection until a webhook arrives again and clears it.
public final class WebhookWatch: Sendable {
    let store: Store
    let runner: PollRunner
    /// Microseconds without a webhook after a change a poll found.
    public let window: Int64
    let now: @Sendable () -> Int64
    let telemetry: Telemetry
    /// Webhooks a connection must have had before silence means anything.
    public static let minimumWebhooks = 3

    struct State {
        /// The last seq read; `nil` before the first pass.
        var afterSeq: Int64?
        var known: [String: WebhookFreshness] = [:]
        /// Per connection, the earliest change (provider time) a poll found after its last webhook.
        var unsent: [String: Int64] = [:]
    }
    private let state = Mutex(State())

    /// - Parameter window: microseconds (`TRIBUTARY_WEBHOOK_SILENCE_SECONDS`, default 15 minutes).
    public init(store: Store, runner: PollRunner, window: Int64, now: @escaping @Sendable () -> Int64, telemetry: Telemetry = .off) {
        self.store = store
        self.runner = runner
        self.window = window
        self.now = now
        self.telemetry = telemetry
    }

    /// Reads what the log gained, raises the silences it shows, and gap-polls their connections.
    /// - Returns: the connections found silent in this pass.
    @discardableResult
    public func check(logger: Logger) async throws -> [String] {
        if state.withLock({ $0.afterSeq == nil }) {
            // Resumes from what the last process saved; the last 100,000 events are read again for
            // the record types and the unsent changes, which are kept in memory only.
            let known = try await store.webhookFreshness()
            let start = max(0, try await store.latestSeq() - 100_000)
            state.withLock { state in
                state.known = known
                state.afterSeq = start
            }
        }
        var changed: Set<String> = []
        var resumed: [String] = []
        for _ in 0..<20 {
            let after = state.withLock { $0.afterSeq ?? 0 }
            let marks = try await store.eventMarks(afterSeq: after, limit: 10_000)
            state.withLock { state in
                for mark in marks { Self.read(mark, into: &state, changed: &changed, resumed: &resumed) }
                if let last = marks.last { state.afterSeq = last.seq }
            }
            if marks.count < 10_000 { break }
        }
        let at = now()
        let silent = state.withLock { state -> [String] in
            var silent: [String] = []
            for (connection, changeAt) in state.unsent.sorted(by: { $0.key < $1.key }) {
                guard var freshness = state.known[connection], freshness.silence == nil, freshness.received >= Self.minimumWebhooks,
                      at - changeAt > window, at - freshness.lastReceivedAt > window else { continue }
                freshness.silence = WebhookFreshness.Silence(changeAt: changeAt, detectedAt: at)
                state.known[connection] = freshness
                changed.insert(connection)
                silent.append(connection)
            }
            return silent
        }
        let saving = state.withLock { state in changed.sorted().compactMap { id in state.known[id].map { (id, $0) } } }
        for (connection, freshness) in saving { try await store.saveWebhookFreshness(connection: connection, freshness) }
        for connection in resumed { logger.notice("webhooks arrive again; the silence is over", metadata: ["connection": "\(connection)"]) }
        for connection in silent {
            let freshness = state.withLock { $0.known[connection] }
            telemetry.count(.anomalies, ["silence"])
            logger.error("anomaly: webhooks went silent while polls still find changes; polling the connection now", metadata: [
                "connection": "\(connection)",
                "last_webhook_at": "\(freshness.map { Timestamp.rfc3339(microseconds: $0.lastReceivedAt) } ?? "?")",
                "unsent_change_at": "\(freshness?.silence.map { Timestamp.rfc3339(microseconds: $0.changeAt) } ?? "?")",
            ])
            // The gap poll: every resource of the connection, now, whatever its schedule.
            let reports = try await runner.runDue(force: true, connection: connection, logger: logger)
            for report in reports where report.error != nil {
                logger.warning("the gap poll failed", metadata: ["connection": "\(connection)", "resource": "\(report.resource)", "error": "\(report.error ?? "")"])
            }
        }
        return silent
    }

    /// What one event tells: a webhook refreshes its connection (and ends a silence); a poll's change
    /// of a webhook-delivered record type, made after the last webhook, waits for one.
    static func read(_ mark: EventMark, into state: inout State, changed: inout Set<String>, resumed: inout [String]) {
        switch mark.source {
        case .webhook:
            var freshness = state.known[mark.connection] ?? WebhookFreshness(lastReceivedAt: mark.receivedAt, received: 0, recordTypes: [])
            freshness.received += 1
            freshness.lastReceivedAt = max(freshness.lastReceivedAt, mark.receivedAt)
            if let type = mark.recordType, !freshness.recordTypes.contains(type), freshness.recordTypes.count < 100 { freshness.recordTypes.append(type) }
            if freshness.silence != nil {
                freshness.silence = nil
                resumed.append(mark.connection)
            }
            state.known[mark.connection] = freshness
            state.unsent[mark.connection] = nil
            changed.insert(mark.connection)
        case .poll:
            guard let freshness = state.known[mark.connection], let type = mark.recordType, freshness.recordTypes.contains(type),
                  let changeAt = mark.occurredAt, changeAt > freshness.lastReceivedAt else { return }
            state.unsent[mark.connection] = min(state.unsent[mark.connection] ?? changeAt, changeAt)
        case .fetch, .sweep:
            return
        }
    }

    /// Checks every `tick` inside `serve` (a quarter of the window, between 100 ms and 30 s).
    public func service(clock: EngineClock, logger: Logger) -> PeriodicService {
        let tick = Duration.microseconds(min(30_000_000, max(100_000, window / 4)))
        return PeriodicService(name: "webhook-watch", tick: tick, jitter: 0.1, clock: clock, logger: logger) {
            _ = try await self.check(logger: logger)
        }
    }
}
