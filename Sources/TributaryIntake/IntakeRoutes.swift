import Foundation
import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
import TributaryCore
public import TributaryProviders
public import TributaryStore
public import TributaryTelemetry

/// The webhook intake: verify → handshake → extract → append durably → answer.
///
/// Answers are deliberate and nothing else leaks: 2xx only after the event's
/// transaction committed; 401 with an empty body for any signature or timestamp
/// failure (the reason goes to the log); a verified body that cannot be read is stored
/// `quarantined` and answered 2xx (`"quarantined":true`); 404 unknown provider or connection; 408 a body that stalls; 413 over the limit;
/// 503 with `Retry-After` when the store cannot commit.
public struct IntakeRoutes: Sendable {
    let store: Store
    let catalog: ManifestCatalog
    let configuration: IntakeConfiguration
    /// Microseconds since the epoch; injected so tests control replay windows.
    let now: @Sendable () -> Int64
    /// Counts each event by what intake did with it (stored, duplicate, quarantined).
    let telemetry: Telemetry

    public init(
        store: Store, catalog: ManifestCatalog, configuration: IntakeConfiguration, now: @escaping @Sendable () -> Int64, telemetry: Telemetry = .off
    ) {
        self.telemetry = telemetry
        self.store = store
        self.catalog = catalog
        self.configuration = configuration
        self.now = now
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.post("/webhooks/:provider/:connection") { request, context in
            try await self.handle(request, context: context, appURL: false)
        }
        router.get("/webhooks/:provider/:connection") { request, context in
            try await self.handle(request, context: context, appURL: false)
        }
        // Trello checks a callback URL with a HEAD before it creates the webhook.
        router.head("/webhooks/:provider/:connection") { request, context in
            try await self.handle(request, context: context, appURL: false)
        }
        // One URL per provider app (a GitHub App, a Slack app, a HubSpot app): every install's deliveries,
        // each routed to the connection whose account it names.
        router.post("/webhooks/:provider/apps/:app") { request, context in
            try await self.handle(request, context: context, appURL: true)
        }
        router.get("/webhooks/:provider/apps/:app") { request, context in
            try await self.handle(request, context: context, appURL: true)
        }
    }

    /// Whom a delivery is addressed to.
    enum Target {
        /// A connection's own URL; `secrets` are its own and, when it belongs to an app, the app's.
        case connection(Connection, secrets: [String])
        /// An app's URL: each event goes to the app's connection with the account it names.
        case app(ProviderApp)

        var secrets: [String] {
            switch self {
            case .connection(_, let secrets): secrets
            case .app(let app): app.webhookSecrets
            }
        }

        /// Where a delivery that cannot be read is kept: the connection, or the app's quarantine.
        var quarantineOwner: (connection: String, tenant: String) {
            switch self {
            case .connection(let connection, _): (connection.id, connection.tenant)
            case .app(let app): (app.quarantineConnection, "")
            }
        }

        var toleranceSeconds: Int? {
            if case .connection(let connection, _) = self { return connection.toleranceSeconds }
            return nil
        }
    }

    enum Resolved {
        case found(Target)
        case answer(Response)
    }

    /// The target named by the path, or the answer when there is none (404, or 503 when the store fails).
    func target<Context: RequestContext>(providerID: String, appURL: Bool, context: Context, logger: Logger) async -> Resolved {
        do {
            if appURL {
                let appID = context.parameters.get("app") ?? ""
                guard let app = try await store.app(id: appID, cachedFor: configuration.connectionCacheTTL), app.provider == providerID else {
                    return .answer(Self.plain(.notFound, "unknown app"))
                }
                return .found(.app(app))
            }
            let connectionID = context.parameters.get("connection") ?? ""
            guard let connection = try await store.connection(id: connectionID, cachedFor: configuration.connectionCacheTTL),
                  connection.provider == providerID else {
                return .answer(Self.plain(.notFound, "unknown connection"))
            }
            // A connection of an app keeps its own URL; the app's secret signs what arrives there too.
            var secrets = connection.webhookSecrets
            if let appID = connection.app, let app = try await store.app(id: appID, cachedFor: configuration.connectionCacheTTL) {
                secrets += app.webhookSecrets
            }
            return .found(.connection(connection, secrets: secrets))
        } catch {
            logger.error("connection lookup failed", metadata: ["error": "\(error)"])
            return .answer(Self.unavailable())
        }
    }

    func handle<Context: RequestContext>(_ request: Request, context: Context, appURL: Bool) async throws -> Response {
        let providerID = context.parameters.get("provider") ?? ""
        var logger = context.logger
        logger[metadataKey: "provider"] = "\(providerID)"
        if appURL {
            logger[metadataKey: "app"] = "\(context.parameters.get("app") ?? "")"
        } else {
            logger[metadataKey: "connection"] = "\(context.parameters.get("connection") ?? "")"
        }

        guard let provider = catalog.providers[providerID], let verifier = provider.verifier,
              let extractor = provider.extractor, let webhooks = provider.manifest.webhooks else {
            if catalog.invalid[providerID] != nil {
                // Its manifest is broken, not gone: providers retry a 503, so nothing is lost once it is fixed.
                logger.warning("webhook for a provider whose manifest is invalid; answered 503 so the provider retries")
                var response = Self.plain(.serviceUnavailable, "provider \(providerID)'s manifest is invalid on this server; retry later")
                response.headers[.retryAfter] = "300"
                return response
            }
            return Self.plain(.notFound, "unknown provider")
        }
        let target: Target
        switch await self.target(providerID: providerID, appURL: appURL, context: context, logger: logger) {
        case .found(let found): target = found
        case .answer(let answer): return answer
        }

        let declaredLength = request.headers[.contentLength].flatMap(Int.init).map { max($0, 0) }
        if let length = declaredLength, length > configuration.maxBodyBytes {
            logger.notice("body over the limit", metadata: ["content_length": "\(length)"])
            return Self.plain(.contentTooLarge, "body exceeds \(configuration.maxBodyBytes) bytes")
        }
        // Room among the webhooks intake may hold is taken before the body is read: past the bound the
        // answer is 503 at once, and the refused request's body never enters memory.
        let headerBytes = request.headers.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count }
        let reservation: IntakeReservation
        do {
            reservation = try store.reserveIntake(bodyBytes: declaredLength ?? configuration.maxBodyBytes, headerBytes: headerBytes)
        } catch {
            logger.warning("intake at its bound of waiting webhooks; answering 503", metadata: ["error": "\(error)"])
            return Self.unavailable()
        }
        defer { store.releaseIntake(reservation) }
        let body: ByteBuffer
        do {
            body = try await Self.collect(request.body, upTo: configuration.maxBodyBytes, deadline: .now + configuration.bodyTimeout)
        } catch is BodyTooLarge {
            logger.notice("body over the limit")
            return Self.plain(.contentTooLarge, "body exceeds \(configuration.maxBodyBytes) bytes")
        } catch is BodyTimeout {
            logger.notice("body not received in time")
            return Self.plain(.requestTimeout, "request body not received in time")
        }

        let webhookRequest = WebhookRequest(
            method: request.method.rawValue,
            url: externalURL(request),
            headers: request.headers.map { ($0.name.rawName, $0.value) },
            body: Array(buffer: body)
        )
        let nowMicros = now()
        let secrets = target.secrets

        if let kind = webhooks.handshake?.kind,
           let reply = HandshakeResponder.beforeVerification(kind, request: webhookRequest, awaitingSecret: secrets.isEmpty, secrets: secrets) {
            if let secret = reply.deliveredSecret {
                // A secret handed over at an app's URL would sign for every install; an app's secret is set with `apps rotate-secret`.
                guard case .connection(let connection, _) = target else {
                    logger.warning("handshake secret refused at an app's URL")
                    return Response(status: .unauthorized)
                }
                do {
                    guard try await store.deliverWebhookSecret(connection: connection.id, secret: secret, now: nowMicros) else {
                        logger.warning("handshake secret refused: connection already has a secret")
                        return Response(status: .unauthorized)
                    }
                } catch {
                    logger.error("cannot store handshake secret", metadata: ["error": "\(error)"])
                    return Self.unavailable()
                }
                logger.notice("webhook secret delivered by handshake and stored")
            } else if reply.status == 401 {
                // Asana: a secret offered to a connection that has one; X: a CRC token or POST body that
                // could turn the CRC into a signing oracle.
                logger.warning("handshake refused", metadata: ["handshake": "\(kind.rawValue)"])
            } else {
                logger.info("handshake answered", metadata: ["handshake": "\(kind.rawValue)"])
            }
            return Self.response(reply)
        }
        guard request.method == .post else { return Self.plain(.methodNotAllowed, "POST expected") }

        let verified: Verified
        switch verifier.verify(webhookRequest, secrets: secrets, now: nowMicros / 1_000_000, tolerance: target.toleranceSeconds) {
        case .success(let result):
            verified = result
        case .failure(let failure):
            logger.warning("webhook refused", metadata: ["reason": "\(failure)"])
            return Response(status: .unauthorized)
        }
        if let kind = webhooks.handshake?.kind,
           let reply = HandshakeResponder.afterVerification(kind, request: webhookRequest, secret: secrets[verified.secretIndex]) {
            logger.info("handshake answered", metadata: ["handshake": "\(kind.rawValue)"])
            return Self.response(reply)
        }

        let keptHeaders = keptHeaders(webhookRequest.headers, scheme: webhooks.verification)
        let context = DraftContext(extractor: extractor, webhooks: webhooks, provider: providerID, headers: keptHeaders, now: nowMicros)
        // A batched delivery (HubSpot's array, Graph's value[], Asana's events[]) is one event per element,
        // each deduplicated (and at an app's URL routed) on its own; a body with no array where the manifest
        // says is kept whole, quarantined.
        var parts = [webhookRequest]
        switch extractor.elements(webhookRequest) {
        case .success(let elements)?: parts = elements
        case .failure(let failure)?:
            let owner = target.quarantineOwner
            let draft = context.quarantined(webhookRequest, reason: "unreadable: \(failure.reason)", connection: owner.connection, tenant: owner.tenant)
            logger.warning("verified batch unreadable; quarantined", metadata: ["reason": "\(failure.reason)"])
            return await store([draft], batch: false, reservation: reservation, logger: logger)
        case nil: break
        }
        var drafts: [EventDraft] = []
        let lifecycle = provider.manifest.subscriptions?.lifecycle.flatMap(JSONPointer.init)
        let lifecycleID = provider.manifest.subscriptions?.lifecycleId.flatMap(JSONPointer.init)
        for part in parts {
            if let lifecycle, case .connection(let connection, _) = target, let json = JSONValue(parsing: part.body), let notice = lifecycle.resolve(in: json)?.stringValue {
                // A notice about the subscription itself (Graph's lifecycle events), not about a record:
                // the renewal service acts on it at its next pass.
                let action: Subscription.Action = switch notice {
                case "reauthorizationRequired": .renew
                case "subscriptionRemoved": .recreate
                default: .poll
                }
                let about = lifecycleID.flatMap { $0.resolve(in: json)?.stringValue }
                let held: Bool
                do {
                    held = try await store.requestSubscriptionAction(connection: connection.id, action, subscriptionID: about, now: nowMicros)
                } catch {
                    logger.error("cannot record a subscription lifecycle notice", metadata: ["error": "\(error)"])
                    return Self.unavailable()
                }
                if held {
                    logger.notice("subscription lifecycle notice", metadata: ["lifecycle": "\(notice.prefix(64))", "action": "\(action.rawValue)"])
                } else {
                    logger.info("lifecycle notice about a subscription not held (replaced or removed); ignored", metadata: [
                        "lifecycle": "\(notice.prefix(64))", "subscription": "\((about ?? "none").prefix(128))",
                    ])
                }
                continue
            }
            var draft: EventDraft
            switch target {
            case .connection(let connection, _):
                draft = self.draft(part, context: context, connection: connection, logger: logger)
            case .app(let app):
                do {
                    draft = try await routed(part, context: context, app: app, logger: logger)
                } catch {
                    logger.error("app route lookup failed", metadata: ["error": "\(error)"])
                    return Self.unavailable()
                }
            }
            if let horizon = provider.replayHorizon {
                // Keyed by the type too: Shopify sends byte-identical bodies as orders/updated and orders/paid.
                draft.replayGuard = (part.contentSHA256 + " " + (draft.type ?? ""), horizon)
            }
            drafts.append(draft)
        }
        return await store(drafts, batch: extractor.batch != nil, reservation: reservation, logger: logger)
    }

    /// What every event of one delivery is drafted with.
    struct DraftContext {
        let extractor: EventExtractor
        let webhooks: ProviderManifest.Webhooks
        let provider: String
        let headers: [(name: String, value: String)]
        let now: Int64

        /// A delivery kept byte for byte, quarantined for `reason`, under its body's digest as its id
        /// (so the provider's retries of it dedupe) unless its own id was read.
        func quarantined(_ part: WebhookRequest, reason: String, connection: String, tenant: String, eventId: String? = nil, type: String? = nil) -> EventDraft {
            EventDraft(
                connection: connection, tenant: tenant, provider: provider, source: .webhook,
                eventId: eventId ?? EventID.quarantined(bodySHA256: part.contentSHA256), type: type, record: nil,
                occurredAt: nil, receivedAt: now, status: .quarantined, reason: reason,
                headers: headers, body: part.body, url: part.url
            )
        }
    }
    /// The event one delivery (or one element of a batch) at a connection's own URL makes: read through
    /// the manifest, or kept quarantined when it is verified but unreadable or addressed to another account.
    func draft(_ part: WebhookRequest, context: DraftContext, connection: Connection, logger: Logger) -> EventDraft {
        switch context.extractor.extract(part) {
        case .success(let extracted):
            var draft = EventDraft(
                connection: connection.id, tenant: connection.tenant, provider: context.provider, source: .webhook,
                eventId: extracted.eventId, type: extracted.type, record: extracted.record,
                occurredAt: extracted.occurredAt, receivedAt: context.now,
                headers: context.headers, body: part.body, url: part.url
            )
            if let refusal = AccountRouting.refusal(
                expected: connection.account, delivered: extracted.account, manifestNamesAccount: context.webhooks.event.account != nil
            ) {
                // Visible and replayable, never routed.
                draft.status = .quarantined
                draft.reason = refusal
                logger.warning("webhook quarantined: account does not route here", metadata: ["account": "\(extracted.account ?? "none")"])
            }
            return draft
        case .failure(let failure):
            // Verified but unreadable (not JSON, no event id, a value out of range): kept byte for byte and
            // answered 2xx, since most providers never retry a 4xx; `events replay` reads it again after a
            // manifest fix.
            logger.warning("verified webhook unreadable; quarantined", metadata: ["reason": "\(failure.reason)"])
            return context.quarantined(part, reason: "unreadable: \(failure.reason)", connection: connection.id, tenant: connection.tenant)
        }
    }

    /// The event one delivery (or one element of a batch) at an app's URL makes: the connection of the
    /// app whose account it names gets it; one naming no account, or an account none of the app's
    /// connections has (an install not added yet, or another app's customer), is kept quarantined under
    /// the app, where `events replay` routes it once the connection exists. It never reaches a tenant by guess.
    func routed(_ part: WebhookRequest, context: DraftContext, app: ProviderApp, logger: Logger) async throws(StoreError) -> EventDraft {
        let extracted: ExtractedEvent
        switch context.extractor.extract(part) {
        case .success(let read): extracted = read
        case .failure(let failure):
            logger.warning("verified webhook unreadable; quarantined under the app", metadata: ["reason": "\(failure.reason)"])
            return context.quarantined(part, reason: "unreadable: \(failure.reason)", connection: app.quarantineConnection, tenant: "")
        }
        guard let account = extracted.account else {
            logger.warning("webhook at an app's URL names no account; quarantined under the app")
            let reason = context.webhooks.event.account == nil
                ? "\(context.provider)'s manifest says no event.account, so an app's URL cannot route its deliveries"
                : "delivery names no account, so no connection of app \(app.id) can be chosen"
            return context.quarantined(part, reason: reason, connection: app.quarantineConnection, tenant: "", eventId: extracted.eventId, type: extracted.type)
        }
        guard let connection = try await store.connection(app: app.id, account: account, cachedFor: configuration.connectionCacheTTL) else {
            logger.warning("webhook at an app's URL for an account with no connection; quarantined under the app", metadata: ["account": "\(account)"])
            return context.quarantined(
                part, reason: "no connection of app \(app.id) has account \(account)", connection: app.quarantineConnection, tenant: "",
                eventId: extracted.eventId, type: extracted.type
            )
        }
        return EventDraft(
            connection: connection.id, tenant: connection.tenant, provider: context.provider, source: .webhook,
            eventId: extracted.eventId, type: extracted.type, record: extracted.record,
            occurredAt: extracted.occurredAt, receivedAt: context.now,
            headers: context.headers, body: part.body, url: part.url
        )
    }

    /// Appends the delivery's events, each durably, and only then answers 2xx: `{"seq","duplicate"}` for
    /// one event; for a batch also `events` (each element's seq and whether it was a duplicate), with
    /// `seq` the first element's and `duplicate` true when every element was one.
    func store(_ drafts: [EventDraft], batch: Bool, reservation: IntakeReservation, logger: Logger) async -> Response {
        var results: [AppendResult] = []
        do {
            // One after another: each is durable before the next; a crash in between leaves the provider
            // a delivery to retry, whose stored elements are then duplicates.
            for draft in drafts { results.append(try await store.append(draft, reservation: reservation)) }
        } catch where error.code == .notFound {
            logger.notice("connection removed while the webhook was received; answering 404")
            return Self.plain(.notFound, "unknown connection")
        } catch {
            logger.error("cannot store webhook; answering 503", metadata: ["error": "\(error)"])
            return Self.unavailable()
        }
        logger.debug("webhook stored", metadata: ["event.seq": "\(results.first?.seq ?? 0)", "events": "\(results.count)"])
        for (draft, result) in zip(drafts, results) {
            let outcome = result.duplicate ? "duplicate" : draft.status == .quarantined ? "quarantined" : "stored"
            telemetry.count(.eventsReceived, [draft.provider, outcome], connection: draft.connection)
        }
        // One event's answer; a single delivery's is the whole answer.
        let each = zip(drafts, results).map { draft, result in
            #"{"seq":\#(result.seq),"duplicate":\#(result.duplicate)\#(draft.status == .quarantined && !result.duplicate ? #","quarantined":true"# : "")}"#
        }
        let text: String
        if !batch, let single = each.first {
            text = single
        } else {
            let first = results.first.map { String($0.seq) } ?? "null"
            text = #"{"seq":\#(first),"duplicate":\#(!results.isEmpty && results.allSatisfy(\.duplicate)),"events":[\#(each.joined(separator: ","))]}"#
        }
        var buffer = ByteBuffer()
        buffer.writeString(text)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }

    /// The URL the provider called: the configured public base (or `http://` + `Host`) plus the path and query as sent.
    func externalURL(_ request: Request) -> String {
        let pathAndQuery = request.head.path ?? "/"
        if let base = configuration.publicBaseURL { return base + pathAndQuery }
        let host = request.head.authority ?? "localhost"
        return "http://" + host + pathAndQuery
    }

    /// Every header except credentials: a token scheme's header *is* the secret, and must not sit in the log in clear.
    func keptHeaders(_ headers: [(name: String, value: String)], scheme: ProviderManifest.Verification) -> [(name: String, value: String)] {
        var dropped: Set<String> = ["authorization", "cookie", "proxy-authorization"]
        if scheme.scheme == .token { dropped.formUnion((scheme.signature?.headers ?? []).map { $0.lowercased() }) }
        return headers.filter { !dropped.contains($0.name.lowercased()) }
    }

    struct BodyTimeout: Error {}
    struct BodyTooLarge: Error {}

    /// Collects the body chunk by chunk, refusing it once it passes `limit` bytes or `deadline`.
    ///
    /// A body that trickles in is answered 408 at the first chunk past the deadline; one that
    /// stops altogether is cut by the server's idle timeout, which the engine holds at or below
    /// the body timeout. No timer is armed per request.
    static func collect(_ body: RequestBody, upTo limit: Int, deadline: ContinuousClock.Instant) async throws -> ByteBuffer {
        var buffer = ByteBuffer()
        for try await chunk in body {
            guard chunk.readableBytes <= limit - buffer.readableBytes else { throw BodyTooLarge() }
            buffer.writeImmutableBuffer(chunk)
            guard ContinuousClock.now <= deadline else { throw BodyTimeout() }
        }
        return buffer
    }

    static func plain(_ status: HTTPResponse.Status, _ message: String) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(#"{"error":\#(JSONValue.string(message).jsonText)}"#)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }

    static func unavailable() -> Response {
        var response = plain(.serviceUnavailable, "store unavailable; retry later")
        response.headers[.retryAfter] = "5"
        return response
    }

    static func response(_ reply: HandshakeReply) -> Response {
        var headers = HTTPFields()
        for (name, value) in reply.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        var buffer = ByteBuffer()
        buffer.writeBytes(reply.body)
        return Response(status: .init(code: reply.status), headers: headers, body: .init(byteBuffer: buffer))
    }
}
