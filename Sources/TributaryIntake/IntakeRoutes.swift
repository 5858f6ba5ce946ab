import Foundation
import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
import TributaryCore
public import TributaryProviders
public import TributaryStore

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

    public init(store: Store, catalog: ManifestCatalog, configuration: IntakeConfiguration, now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.catalog = catalog
        self.configuration = configuration
        self.now = now
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.post("/webhooks/:provider/:connection") { request, context in
            try await self.handle(request, context: context)
        }
        router.get("/webhooks/:provider/:connection") { request, context in
            try await self.handle(request, context: context)
        }
        // Trello checks a callback URL with a HEAD before it creates the webhook.
        router.head("/webhooks/:provider/:connection") { request, context in
            try await self.handle(request, context: context)
        }
    }

    func handle<Context: RequestContext>(_ request: Request, context: Context) async throws -> Response {
        let providerID = context.parameters.get("provider") ?? ""
        let connectionID = context.parameters.get("connection") ?? ""
        var logger = context.logger
        logger[metadataKey: "provider"] = "\(providerID)"
        logger[metadataKey: "connection"] = "\(connectionID)"

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
        let connection: Connection?
        do {
            connection = try await store.connection(id: connectionID, cachedFor: configuration.connectionCacheTTL)
        } catch {
            logger.error("connection lookup failed", metadata: ["error": "\(error)"])
            return Self.unavailable()
        }
        guard let connection, connection.provider == providerID else {
            return Self.plain(.notFound, "unknown connection")
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

        if let kind = webhooks.handshake?.kind,
           let reply = HandshakeResponder.beforeVerification(
               kind, request: webhookRequest, awaitingSecret: connection.awaitingSecret, secrets: connection.webhookSecrets
           ) {
            if let secret = reply.deliveredSecret {
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
        switch verifier.verify(webhookRequest, secrets: connection.webhookSecrets, now: nowMicros / 1_000_000, tolerance: connection.toleranceSeconds) {
        case .success(let result):
            verified = result
        case .failure(let failure):
            logger.warning("webhook refused", metadata: ["reason": "\(failure)"])
            return Response(status: .unauthorized)
        }
        if let kind = webhooks.handshake?.kind,
           let reply = HandshakeResponder.afterVerification(kind, request: webhookRequest, secret: connection.webhookSecrets[verified.secretIndex]) {
            logger.info("handshake answered", metadata: ["handshake": "\(kind.rawValue)"])
            return Self.response(reply)
        }

        let keptHeaders = keptHeaders(webhookRequest.headers, scheme: webhooks.verification)
        // A batched delivery (HubSpot's array, Graph's value[], Asana's events[]) is one event per element,
        // each deduplicated on its own; a body with no array where the manifest says is kept whole, quarantined.
        var parts = [webhookRequest]
        switch extractor.elements(webhookRequest) {
        case .success(let elements)?: parts = elements
        case .failure(let failure)?:
            let draft = quarantinedDraft(webhookRequest, reason: failure.reason, connection: connection, provider: providerID, headers: keptHeaders, now: nowMicros)
            logger.warning("verified batch unreadable; quarantined", metadata: ["reason": "\(failure.reason)"])
            return await store([draft], batch: false, reservation: reservation, logger: logger)
        case nil: break
        }
        var drafts: [EventDraft] = []
        for part in parts {
            var draft = self.draft(part, extractor: extractor, webhooks: webhooks, connection: connection, provider: providerID, headers: keptHeaders, now: nowMicros, logger: logger)
            if let horizon = provider.replayHorizon {
                // Keyed by the type too: Shopify sends byte-identical bodies as orders/updated and orders/paid.
                draft.replayGuard = (part.contentSHA256 + " " + (draft.type ?? ""), horizon)
            }
            drafts.append(draft)
        }
        return await store(drafts, batch: extractor.batch != nil, reservation: reservation, logger: logger)
    }

    /// The event one delivery (or one element of a batch) makes: read through the manifest, or kept
    /// quarantined when it is verified but unreadable or addressed to another account.
    func draft(
        _ part: WebhookRequest, extractor: EventExtractor, webhooks: ProviderManifest.Webhooks, connection: Connection,
        provider: String, headers: [(name: String, value: String)], now: Int64, logger: Logger
    ) -> EventDraft {
        switch extractor.extract(part) {
        case .success(let extracted):
            var draft = EventDraft(
                connection: connection.id, tenant: connection.tenant, provider: provider, source: .webhook,
                eventId: extracted.eventId, type: extracted.type, record: extracted.record,
                occurredAt: extracted.occurredAt, receivedAt: now,
                headers: headers, body: part.body, url: part.url
            )
            if let refusal = AccountRouting.refusal(expected: connection.account, delivered: extracted.account, manifestNamesAccount: webhooks.event.account != nil) {
                // Visible and replayable, never routed.
                draft.status = .quarantined
                draft.reason = refusal
                logger.warning("webhook quarantined: account does not route here", metadata: ["account": "\(extracted.account ?? "none")"])
            }
            return draft
        case .failure(let failure):
            // Verified but unreadable (not JSON, no event id, a value out of range): kept byte for byte and
            // answered 2xx, since most providers never retry a 4xx; `events replay` reads it again after a
            // manifest fix. The id comes from the body, so the provider's retries of it dedupe.
            logger.warning("verified webhook unreadable; quarantined", metadata: ["reason": "\(failure.reason)"])
            return quarantinedDraft(part, reason: failure.reason, connection: connection, provider: provider, headers: headers, now: now)
        }
    }

    func quarantinedDraft(
        _ part: WebhookRequest, reason: String, connection: Connection, provider: String, headers: [(name: String, value: String)], now: Int64
    ) -> EventDraft {
        EventDraft(
            connection: connection.id, tenant: connection.tenant, provider: provider, source: .webhook,
            eventId: EventID.quarantined(bodySHA256: part.contentSHA256), type: nil, record: nil,
            occurredAt: nil, receivedAt: now, status: .quarantined, reason: "unreadable: \(reason)",
            headers: headers, body: part.body, url: part.url
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
