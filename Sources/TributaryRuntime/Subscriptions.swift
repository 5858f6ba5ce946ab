import Foundation
public import Logging
public import TributaryCore
public import TributaryProviders
public import TributaryScheduling
public import TributaryStore
public import TributaryUpstream

/// Each connection's webhook subscription at its provider, made and kept through the provider's API
/// with the connection's own credentials (its OAuth token, renewed as needed).
///
/// `connections subscribe` creates one: a generated secret is added to the connection's webhook
/// secrets *before* the provider is called, so the first delivery already verifies. In `serve`, a pass
/// every 30 s renews each subscription `renewBefore` its expiry; one that expired unrenewed (the
/// service was down, the provider refused) is created again, and the connection is polled at once
/// for what was sent to nobody meanwhile. A provider's lifecycle notice at intake (Graph's
/// `reauthorizationRequired`, `subscriptionRemoved`, `missed`) is acted on by the next pass.
public struct SubscriptionManager: Sendable {
    let store: Store
    let catalog: ManifestCatalog
    let clients: UpstreamClients
    let clock: EngineClock
    /// The service's public base URL: subscriptions deliver to `<base>/webhooks/{provider}/{connection}`.
    let publicBaseURL: String?
    /// Polls one connection now (after a gap in deliveries).
    let poll: @Sendable (String) async -> Void
    let backoff = Backoff(base: .seconds(30), cap: .seconds(3600))
    /// Holds `subscription:<connection>` while it acts, so two `serve`s never both create one.
    let holder = LeaseHolder.current()

    public init(
        store: Store, catalog: ManifestCatalog, clients: UpstreamClients, clock: EngineClock, publicBaseURL: String?,
        poll: @escaping @Sendable (String) async -> Void
    ) {
        self.store = store
        self.catalog = catalog
        self.clients = clients
        self.clock = clock
        self.publicBaseURL = publicBaseURL
        self.poll = poll
    }

    /// What one call of the provider's subscription API answered, read.
    struct Answer {
        var id: String?
        var expiresAt: Int64?
        var secret: String?
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// The provider no longer knows the subscription (404, 410): create it again.
        var gone = false
    }

    func spec(_ connection: Connection) throws(OperationError) -> (ProviderManifest.Subscriptions, Provider) {
        guard let provider = catalog.providers[connection.provider], let spec = provider.manifest.subscriptions else {
            throw .usage("\(connection.provider)'s manifest has no subscriptions section: register its webhook by hand")
        }
        return (spec, provider)
    }

    /// Creates the connection's subscription at the provider (replacing any it had).
    public func subscribe(_ connection: Connection, logger: Logger) async throws(OperationError) -> Subscription {
        let (spec, provider) = try spec(connection)
        guard let base = publicBaseURL else {
            throw .usage("the provider must be told this service's public URL: set TRIBUTARY_PUBLIC_URL (or --public-url) to it")
        }
        do {
            try await create(connection, spec: spec, provider: provider, base: base, logger: logger)
        } catch let failure as Failure {
            throw .failure("cannot subscribe \(connection.id) at \(connection.provider): \(failure)")
        } catch {
            throw .failure("\(error)")
        }
        do {
            guard let subscription = try await store.subscription(connection: connection.id) else { throw OperationError.failure("subscription of \(connection.id) vanished") }
            return subscription
        } catch let error as OperationError { throw error } catch { throw .failure("\(error)") }
    }

    /// Deletes the connection's subscription at the provider (when the manifest can) and stops renewing it.
    public func unsubscribe(_ connection: Connection, logger: Logger) async throws(OperationError) {
        let (spec, _) = try spec(connection)
        do {
            guard let current = try await store.subscription(connection: connection.id), let id = current.subscriptionId, current.state != .removed else {
                throw OperationError.usage("connection \(connection.id) has no subscription")
            }
            if let delete = spec.delete {
                let status = try await call(delete, connection: connection, values: ["subscription_id": id, "account": connection.account ?? ""], logger: logger).status
                guard (200..<300).contains(status) || status == 404 || status == 410 else {
                    throw OperationError.failure("the provider answered HTTP \(status) to deleting subscription \(id)")
                }
            }
            try await store.markSubscriptionRemoved(connection: connection.id, now: clock.now())
        } catch let error as OperationError {
            throw error
        } catch {
            throw .failure("cannot unsubscribe \(connection.id): \(error)")
        }
    }

    /// One pass: renews what expires soon, creates again what expired or was removed, polls after a gap.
    /// - Returns: one line per subscription acted on, for the log.
    @discardableResult
    public func runDue(logger: Logger) async throws -> [String] {
        var done: [String] = []
        for subscription in try await store.subscriptions() where subscription.state != .removed {
            guard let connection = try await store.connection(id: subscription.connection),
                  let provider = catalog.providers[connection.provider], let spec = provider.manifest.subscriptions else { continue }
            let now = clock.now()
            // A failed attempt waits its backoff, pending action or not (a new notice clears the wait).
            if let retryAt = subscription.retryAt, retryAt > now { continue }
            let lifetime = Int64(spec.lifetime ?? ProviderManifest.Subscriptions.defaultLifetime) * 1_000_000
            let renewBefore = Int64(spec.renewBefore ?? (spec.lifetime ?? ProviderManifest.Subscriptions.defaultLifetime) / 4) * 1_000_000
            let expired = subscription.expiresAt.map { $0 <= now } ?? false
            let action: Subscription.Action?
            if subscription.action == .recreate || expired || subscription.subscriptionId == nil {
                action = .recreate
            } else if subscription.action == .renew || subscription.expiresAt.map({ expiresAt in
                // Half of what the provider granted at most (it may cap the life requested: Graph does).
                let granted = expiresAt - (subscription.renewedAt ?? subscription.createdAt ?? now)
                return expiresAt - min(renewBefore, max(granted, 0) / 2, lifetime / 2) <= now
            }) == true {
                action = .renew
            } else {
                action = subscription.action
            }
            guard let action else { continue }
            let lease = "subscription:" + connection.id
            guard try await store.claimLease(lease, holder: holder, ttl: .seconds(300), now: now, logger: logger) else { continue }
            do {
                switch action {
                case .recreate:
                    guard let base = publicBaseURL else { throw Failure(description: "TRIBUTARY_PUBLIC_URL is not set: the provider cannot be told where to deliver") }
                    try await create(connection, spec: spec, provider: provider, base: base, logger: logger)
                    if expired || subscription.action == .recreate {
                        // Deliveries made while no subscription was live went nowhere: a poll reads them.
                        logger.warning("subscription was gone; created again and polling at once for what it missed", metadata: ["connection": "\(connection.id)"])
                        await poll(connection.id)
                    }
                    done.append("\(connection.id): subscription created again")
                case .renew:
                    do {
                        try await renew(connection, subscription: subscription, spec: spec, provider: provider, logger: logger)
                        done.append("\(connection.id): subscription renewed")
                    } catch let failure as Failure where failure.gone {
                        guard let base = publicBaseURL else { throw failure }
                        try await create(connection, spec: spec, provider: provider, base: base, logger: logger)
                        await poll(connection.id)
                        done.append("\(connection.id): subscription gone at the provider; created again")
                    }
                case .poll:
                    await poll(connection.id)
                    try await store.clearSubscriptionAction(connection: connection.id, now: clock.now())
                    done.append("\(connection.id): polled after the provider said deliveries were missed")
                }
            } catch {
                var random = SplitMix64(seed: UInt64(truncatingIfNeeded: now))
                let retryAt = clock.now() + backoff.delay(attempt: subscription.failures, random: 0.5 + random.nextUnit() / 2).microseconds
                try await store.noteSubscriptionFailure(connection: connection.id, reason: "\(error)", retryAt: retryAt, now: clock.now())
                logger.warning("subscription could not be kept; retrying later", metadata: [
                    "connection": "\(connection.id)", "reason": "\(error)", "retry_at": "\(Timestamp.rfc3339(microseconds: retryAt))",
                ])
            }
            try? await store.releaseLease(lease, holder: holder)
        }
        return done
    }

    public func service(tick: Duration = .seconds(30), logger: Logger) -> PeriodicService {
        PeriodicService(name: "subscription-renewal", tick: tick, jitter: 0.1, clock: clock, logger: logger) {
            for line in try await self.runDue(logger: logger) { logger.info("\(line)") }
        }
    }

    func create(_ connection: Connection, spec: ProviderManifest.Subscriptions, provider: Provider, base: String, logger: Logger) async throws {
        var values = [
            "callback_url": (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/webhooks/\(connection.provider)/\(connection.id)",
            "account": connection.account ?? "",
        ]
        let lifetime = Int64(spec.lifetime ?? ProviderManifest.Subscriptions.defaultLifetime) * 1_000_000
        values["expires_at"] = Timestamp.rfc3339(microseconds: clock.now() + lifetime)
        if spec.secret?.source == .generate {
            // Stored before the provider is called: its first delivery (or validation) already verifies.
            let secret = Self.generatedSecret(provider.manifest.webhooks?.verification.secretEncoding)
            try await store.addWebhookSecret(connection: connection.id, secret: secret, now: clock.now())
            values["secret"] = secret
        }
        let response = try await call(spec.create, connection: connection, values: values, logger: logger)
        guard (200..<300).contains(response.status) else { throw Failure(description: "the provider answered HTTP \(response.status) to creating the subscription") }
        let answer = try read(response.body, spec: spec)
        guard let id = answer.id else { throw Failure(description: "the provider's answer holds no subscription id at \(spec.id)") }
        if let secret = answer.secret { try await store.addWebhookSecret(connection: connection.id, secret: secret, now: clock.now()) }
        if let secretSpec = spec.secret, secretSpec.source == .fetch, let fetch = secretSpec.call {
            // The provider made the secret and answers it on its own call (Zendesk): until it is
            // stored, a delivery of the new subscription fails verification, and its provider retries it.
            let values = ["subscription_id": id, "account": connection.account ?? ""]
            do {
                let response = try await call(fetch, connection: connection, values: values, logger: logger)
                guard (200..<300).contains(response.status) else {
                    throw Failure(description: "the provider answered HTTP \(response.status) to reading the secret of subscription \(id)")
                }
                guard let secret = try text(in: response.body, at: secretSpec.pointer) else {
                    throw Failure(description: "the provider's answer holds no secret at \(secretSpec.pointer ?? "")")
                }
                try await store.addWebhookSecret(connection: connection.id, secret: secret, now: clock.now())
            } catch {
                // A subscription whose deliveries could never verify is deleted again, best effort.
                if let delete = spec.delete { _ = try? await call(delete, connection: connection, values: values, logger: logger) }
                throw error
            }
        }
        let previous = try await store.subscription(connection: connection.id)
        try await store.saveSubscription(connection: connection.id, id: id, expiresAt: answer.expiresAt ?? (spec.expiresAt == nil ? nil : clock.now() + lifetime), renewed: false, now: clock.now())
        logger.notice("subscription created", metadata: ["connection": "\(connection.id)", "subscription": "\(id)"])
        // The one it replaces would keep delivering (GitHub hooks never expire): deleted, best effort,
        // once the new one is live, so no delivery falls between the two.
        if let old = previous?.subscriptionId, old != id, previous?.state != .removed, let delete = spec.delete {
            _ = try? await call(delete, connection: connection, values: ["subscription_id": old, "account": connection.account ?? ""], logger: logger)
        }
    }

    func renew(_ connection: Connection, subscription: Subscription, spec: ProviderManifest.Subscriptions, provider: Provider, logger: Logger) async throws {
        guard let renewCall = spec.renew, let id = subscription.subscriptionId else {
            throw Failure(description: "no renew call in the manifest", gone: true)
        }
        let lifetime = Int64(spec.lifetime ?? ProviderManifest.Subscriptions.defaultLifetime) * 1_000_000
        let requested = clock.now() + lifetime
        let values = ["subscription_id": id, "account": connection.account ?? "", "expires_at": Timestamp.rfc3339(microseconds: requested)]
        let response = try await call(renewCall, connection: connection, values: values, logger: logger)
        if response.status == 404 || response.status == 410 { throw Failure(description: "the provider no longer knows subscription \(id)", gone: true) }
        guard (200..<300).contains(response.status) else { throw Failure(description: "the provider answered HTTP \(response.status) to renewing subscription \(id)") }
        let answer = (try? read(response.body, spec: spec)) ?? Answer()
        try await store.saveSubscription(connection: connection.id, id: id, expiresAt: answer.expiresAt ?? requested, renewed: true, now: clock.now())
    }

    /// Sends one subscription call with the connection's credentials; values are JSON-escaped in the
    /// body and percent-encoded in the path.
    func call(_ call: ProviderManifest.Subscriptions.Call, connection: Connection, values: [String: String], logger: Logger) async throws -> UpstreamResponse {
        guard let api = catalog.providers[connection.provider]?.manifest.api else { throw Failure(description: "\(connection.provider)'s manifest has no api section") }
        let credentials = try await store.apiCredentials(connection: connection.id)
        let client = clients.client(for: connection, api: api, baseURL: credentials.baseURL, token: credentials.token)
        // The account first, as polling paths take it (owner/repo stays two segments, each encoded).
        guard case .success(let withAccount) = URLTemplate.fillPath(call.path, account: connection.account ?? "") else {
            throw Failure(description: "connection \(connection.id)'s account cannot be a path of the subscription call \(call.path)")
        }
        guard let path = try ValueTemplate.parse(withAccount, names: ValueTemplate.subscriptionNames).get().render(values, escape: { PercentEncoding.encode($1) }) else {
            throw Failure(description: "the subscription path \(call.path) names a value not known here")
        }
        var body: [UInt8]?
        let form = call.encoding == .form
        if let template = call.body {
            let rendered = try ValueTemplate.parse(template, names: ValueTemplate.subscriptionNames).get().render(values) { _, value in
                form ? PercentEncoding.encode(value) : ValueTemplate.jsonEscaped(value)
            }
            guard let rendered else { throw Failure(description: "the subscription body names a value not known here") }
            body = Array(rendered.utf8)
        }
        let type = form ? "application/x-www-form-urlencoded" : "application/json"
        let request = UpstreamRequest(method: call.method, url: client.url(path), headers: body == nil ? [] : [("Content-Type", type)], body: body)
        return try await client.send(request, priority: .webhookFollowUp, logger: logger)
    }

    func read(_ body: [UInt8], spec: ProviderManifest.Subscriptions) throws -> Answer {
        Answer(
            id: try text(in: body, at: spec.id),
            expiresAt: try text(in: body, at: spec.expiresAt).flatMap { Timestamp.microseconds(rfc3339: $0) },
            secret: spec.secret?.source == .response ? try text(in: body, at: spec.secret?.pointer) : nil
        )
    }

    /// The string or number at `pointer` in a JSON answer (`nil` when absent or empty).
    func text(in body: [UInt8], at pointer: String?) throws -> String? {
        guard let json = JSONValue(parsing: body) else { throw Failure(description: "the provider's answer is not JSON") }
        guard let pointer, let value = JSONPointer(pointer)?.resolve(in: json) else { return nil }
        switch value {
        case .string(let s): return s.isEmpty ? nil : s
        case .number(let n): return n
        default: return nil
        }
    }

    /// 32 random bytes written as the provider's scheme reads its secret.
    static func generatedSecret(_ encoding: ProviderManifest.SecretEncoding?) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        switch encoding ?? .utf8 {
        case .whsecBase64: return "whsec_" + Data(bytes).base64EncodedString()
        case .base64: return Data(bytes).base64EncodedString()
        case .hex: return bytes.map { String(format: "%02x", $0) }.joined()
        case .utf8: return OAuthFlow.base64URL(bytes)
        }
    }
}
