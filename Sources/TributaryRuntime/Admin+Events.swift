public import TributaryCore
import TributaryProviders
import TributaryStore

/// What `events replay` did, event by event.
public struct ReplayResult: Sendable {
    /// Events put back to pending (read again, or as they were).
    public var backToPending = 0
    /// What happened to an event that was not simply put back: each line for stdout, or (`problem`) for stderr.
    public var notes: [(text: String, problem: Bool)] = []
}

extension Admin {
    /// Events in log order, filtered.
    public func events(_ filter: EventFilter) async throws(OperationError) -> [StoredEvent] {
        try await run { () async throws(StoreError) in try await store.events(filter) }
    }

    /// One event with its headers and body, the body redacted of what its provider's manifest marks
    /// as secret (Graph's `clientState`); withheld when the manifests cannot be read to redact it.
    public func event(seq: Int64) async throws(OperationError) -> StoredEvent? {
        guard var event = try await run({ () async throws(StoreError) in try await store.event(seq: seq) }) else { return nil }
        let provider = (try? Manifests.catalog(directory: providersDirectory))?.providers[event.provider]
        event.body = provider?.redacted(body: event.body) ?? Array("[withheld: cannot read the provider's manifest to redact its secrets]".utf8)
        return event
    }

    /// Puts events back to pending (dead, failed, quarantined or settled) for the reconciler.
    ///
    /// A delivery quarantined as unreadable is read again with the manifests as they are now (after
    /// a fix) and must still route to its connection as intake would have decided; every other event
    /// goes back to pending as it is.
    /// - Throws: `.failure` ("no event with seq N") when a sequence number names no event, as for
    ///   every unknown id (`events show`, `--connection`).
    public func replay(_ seqs: [Int64]) async throws(OperationError) -> ReplayResult {
        var result = ReplayResult()
        var plain: [Int64] = []
        // Read once, at the first quarantined delivery (a replay of plain events needs no manifest).
        var catalog: ManifestCatalog?
        for seq in seqs {
            guard let event = try await run({ () async throws(StoreError) in try await store.event(seq: seq) }) else {
                throw .failure("no event with seq \(seq)")
            }
            // Every quarantined delivery is read again and routed as intake would route it now: one kept for
            // naming another account must not reach this tenant by a plain replay.
            if event.connection.hasPrefix(ProviderApp.quarantinePrefix), event.status != .quarantined {
                // Settled as a duplicate when its twin was routed: it belongs to no tenant and is never applied.
                result.notes.append(("tributary: event \(seq) is a settled duplicate of an app's delivery; there is nothing to replay", true))
                continue
            }
            guard event.status == .quarantined, event.source == .webhook else { plain.append(seq); continue }
            if catalog == nil { catalog = try Manifests.catalog(directory: providersDirectory) }
            let provider = catalog?.providers[event.provider]
            let request = WebhookRequest(
                method: "POST", url: event.url ?? "", headers: event.headers.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }, body: event.body
            )
            switch provider?.extractor?.extract(request) {
            case .success(let read)? where event.connection.hasPrefix(ProviderApp.quarantinePrefix):
                let app = String(event.connection.dropFirst(ProviderApp.quarantinePrefix.count))
                guard let account = read.account else {
                    result.notes.append(("tributary: event \(seq) stays quarantined: it names no account, so no connection of app \(app) can be chosen", true))
                    continue
                }
                guard let connection = try await run({ () async throws(StoreError) in
                    try await store.connection(app: app, account: account, cachedFor: .zero)
                }) else {
                    result.notes.append(("tributary: event \(seq) stays quarantined: no connection of app \(app) has account \(account); add it with connections add --app \(app) --account \(account)", true))
                    continue
                }
                if let existing = try await run({ () async throws(StoreError) in
                    try await store.route(seq: seq, to: connection, eventId: read.eventId, type: read.type, record: read.record, occurredAt: read.occurredAt)
                }) {
                    result.notes.append(("event \(seq) routed to \(connection.id) is a duplicate of event \(existing); settled as superseded", false))
                } else {
                    result.notes.append(("event \(seq) routed to connection \(connection.id) (tenant \(connection.tenant))", false))
                    result.backToPending += 1
                }
            case .success(let read)?:
                let connection = try await connection(id: event.connection)
                if let refusal = AccountRouting.refusal(
                    expected: connection?.account, delivered: read.account, manifestNamesAccount: provider?.manifest.webhooks?.event.account != nil
                ) {
                    result.notes.append(("tributary: event \(seq) stays quarantined: \(refusal)", true))
                } else if let existing = try await run({ () async throws(StoreError) in
                    try await store.reread(seq: seq, eventId: read.eventId, type: read.type, record: read.record, occurredAt: read.occurredAt)
                }) {
                    result.notes.append(("event \(seq) is a duplicate of event \(existing); settled as superseded", false))
                } else {
                    result.backToPending += 1
                }
            case .failure(let failure)?:
                result.notes.append(("tributary: event \(seq) is still unreadable: \(failure.reason); fix the \(event.provider) manifest and replay again", true))
            case nil:
                result.notes.append(("tributary: event \(seq): provider \(event.provider) has no webhooks section to read it with", true))
            }
        }
        let plainSeqs = plain
        result.backToPending += try await run { () async throws(StoreError) in try await store.replayEvents(plainSeqs) }
        return result
    }
}
