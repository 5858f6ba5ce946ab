import Foundation
import HTTPTypes
public import Hummingbird
import Logging
import TributaryCore
public import TributaryStore

/// The `/v1` query and admin API: read the mirror, the event log, the status, and follow changes.
///
/// Every route needs the admin bearer token (401 with `WWW-Authenticate: Bearer` otherwise);
/// answers are JSON; a bad parameter is a 400 naming it; what is absent is a 404; a store that
/// cannot answer is a 503 with `Retry-After`, and nothing about the store leaks.
/// The contract is `Schemas/openapi.yaml`; a test holds ``APIEndpoint`` and it equal.
public struct APIRoutes: Sendable {
    let store: Store
    let authenticator: AdminAuthenticator
    /// Makes the changes the write routes ask for; without it they answer 501.
    let administration: (any APIAdministration)?

    /// - Parameters:
    ///   - adminToken: `TRIBUTARY_ADMIN_TOKEN`; `nil` to check against the digest stored by ``AdminToken/prepare(store:configured:)``.
    ///   - administration: what the write routes (destinations, deliveries) call.
    public init(store: Store, adminToken: String?, administration: (any APIAdministration)? = nil) {
        self.store = store
        authenticator = AdminAuthenticator(store: store, configuredToken: adminToken)
        self.administration = administration
    }

    /// Registers every ``APIEndpoint`` on `router`.
    public func add<Context: RequestContext>(to router: Router<Context>) {
        for endpoint in APIEndpoint.allCases {
            router.on(RouterPath(endpoint.path), method: endpoint.method) { request, context in
                await self.respond(endpoint, request: request, context: context)
            }
        }
    }

    func respond<Context: RequestContext>(_ endpoint: APIEndpoint, request: Request, context: Context) async -> Response {
        do throws(APIError) {
            let denial = try await stored(context.logger) { () async throws(StoreError) in try await authenticator.denial(for: request) }
            if let denial { return APIResponse.error(denial, headers: [.wwwAuthenticate: "Bearer"]) }
            let query = APIQuery(request)
            switch endpoint {
            case .records: return try await records(query, logger: context.logger)
            case .record: return try await record(context.parameters, logger: context.logger)
            case .events: return try await events(query, logger: context.logger)
            case .status: return try await status(query, logger: context.logger)
            case .changes: return try await changes(query, logger: context.logger)
            case .destinations: return try await destinations(logger: context.logger)
            case .destination: return try await destination(try existingDestination(context.parameters, logger: context.logger), logger: context.logger)
            case .deliveries: return try await deliveries(query, logger: context.logger)
            case .addDestination, .removeDestination, .pauseDestination, .resumeDestination, .rotateDestinationSecret, .replayDeliveries,
                 .retryDeliveries, .dashboardLink:
                guard let administration else { throw APIError(.notImplemented, "this service takes no changes through /v1; use the tributary CLI.") }
                return try await write(endpoint, request: request, parameters: context.parameters, administration: administration, logger: context.logger)
            }
        } catch {
            return APIResponse.error(error, headers: error.status == .serviceUnavailable ? [.retryAfter: "5"] : [:])
        }
    }

    // MARK: routes

    /// `GET /v1/records`: one page of the mirror in (connection, record_type, record_id) order.
    func records(_ query: APIQuery, logger: Logger) async throws(APIError) -> Response {
        let limit = try query.limit()
        let after = try query.recordCursor("cursor")
        let updatedAfter = try query.timestamp("updated_after")
        // One more than asked says whether another page exists, so the last page ends with next_cursor null.
        let found = try await stored(logger) { () async throws(StoreError) in
            try await store.recordsPage(
                connection: query.string("connection"), type: query.string("type"), updatedAfter: updatedAfter, after: after, limit: limit + 1
            )
        }
        let page = found.prefix(limit)
        let next = found.count > limit ? page.last.map { RecordCursor.encode($0.key) } : nil
        return APIResponse.page(page.map(\.json), nextCursor: next)
    }

    /// `GET /v1/records/{connection}/{type}/{id}`: one record, or 404.
    func record(_ parameters: Parameters, logger: Logger) async throws(APIError) -> Response {
        // The router leaves path captures percent-encoded; ids may hold anything, so decode them here.
        func decoded(_ name: String) -> String {
            let raw = parameters.get(name) ?? ""
            return raw.removingPercentEncoding ?? raw
        }
        let (connection, type, id) = (decoded("connection"), decoded("type"), decoded("id"))
        let record = try await stored(logger) { () async throws(StoreError) in try await store.record(connection: connection, type: type, id: id) }
        guard let record else { throw APIError.notFound("no \(type) \(id) in the mirror of connection \(connection).") }
        return APIResponse.json(record.json)
    }

    /// `GET /v1/events`: one page of the log in seq order; the cursor is the last seq seen.
    func events(_ query: APIQuery, logger: Logger) async throws(APIError) -> Response {
        let limit = try query.limit()
        let status = try query.status("status")
        let after = try query.sequence("cursor")
        let filter = EventFilter(connection: query.string("connection"), status: status, type: query.string("type"), limit: limit + 1, afterSeq: after)
        let found = try await stored(logger) { () async throws(StoreError) in try await store.events(filter) }
        let page = found.prefix(limit)
        let next = found.count > limit ? page.last.map { String($0.seq) } : nil
        return APIResponse.page(page.map { $0.json() }, nextCursor: next)
    }

    /// `GET /v1/status`: what `tributary status --json` shows, as a one-page listing.
    func status(_ query: APIQuery, logger: Logger) async throws(APIError) -> Response {
        let connection = query.string("connection")
        let items = try await stored(logger) { () async throws(StoreError) in try await store.status(connection: connection) }
        return APIResponse.page(items.map(\.json), nextCursor: nil)
    }

    /// `GET /v1/changes`: records in the order the mirror last wrote them, after change `after`.
    ///
    /// `next_cursor` is never null: it is the last change returned, or `after` itself when nothing is
    /// newer, so a follower can keep polling with whatever it was last given.
    func changes(_ query: APIQuery, logger: Logger) async throws(APIError) -> Response {
        let limit = try query.limit()
        let after = try query.sequence("after") ?? 0
        let found = try await stored(logger) { () async throws(StoreError) in try await store.changes(after: after, limit: limit) }
        let items: [JSONValue] = found.map { change in
            guard case .object(var members) = change.record.json else { return change.record.json }
            members.append(("change", .number(String(change.change))))
            return .object(members)
        }
        return APIResponse.page(items, nextCursor: String(found.last?.change ?? after))
    }

    /// `GET /v1/destinations`: every destination with its pending and dead deliveries (secrets only as fingerprints).
    func destinations(logger: Logger) async throws(APIError) -> Response {
        let (destinations, counts) = try await stored(logger) { () async throws(StoreError) in (try await store.destinations(), try await store.deliveryCounts()) }
        return APIResponse.page(destinations.map { Self.withCounts($0, counts) }, nextCursor: nil)
    }

    /// `GET /v1/destinations/{id}`: one destination, with its deliveries waiting and dead.
    func destination(_ destination: Destination, logger: Logger) async throws(APIError) -> Response {
        let counts = try await stored(logger) { () async throws(StoreError) in try await store.deliveryCounts() }
        return APIResponse.json(Self.withCounts(destination, counts))
    }

    static func withCounts(_ destination: Destination, _ counts: [String: (pending: Int, dead: Int)]) -> JSONValue {
        guard case .object(var members) = destination.json else { return destination.json }
        members += [("pending", .number(String(counts[destination.id]?.pending ?? 0))), ("dead", .number(String(counts[destination.id]?.dead ?? 0)))]
        return .object(members)
    }

    /// The destination named by the path's `{id}`, or a 404.
    func existingDestination(_ parameters: Parameters, logger: Logger) async throws(APIError) -> Destination {
        let raw = parameters.get("id") ?? ""
        let id = raw.removingPercentEncoding ?? raw
        let found = try await stored(logger) { () async throws(StoreError) in try await store.destination(id: id) }
        guard let found else { throw APIError.notFound("no destination \(id.prefix(128)).") }
        return found
    }

    // MARK: writes

    /// The write routes: each reads its JSON body (unknown members refused), asks `administration`, and
    /// answers with what changed. Creating answers 201.
    func write(
        _ endpoint: APIEndpoint, request: Request, parameters: Parameters, administration: any APIAdministration, logger: Logger
    ) async throws(APIError) -> Response {
        switch endpoint {
        case .addDestination:
            let body = try await APIBody.read(request, allowed: ["id", "url", "tenant", "connection", "types", "record_types"])
            guard let url = try body.string("url") else {
                throw APIError.badRequest("url is required: where deliveries are POSTed, such as https://app.example.com/webhooks/tributary.")
            }
            var kinds: [Destination.Kind] = []
            for name in try body.strings("types") ?? [Destination.Kind.recordChanged.rawValue] {
                guard let kind = Destination.Kind(rawValue: name) else {
                    throw APIError.badRequest("types holds \"\(name.prefix(64))\", which is not a message type; the types are \(Destination.Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                if !kinds.contains(kind) { kinds.append(kind) }
            }
            guard !kinds.isEmpty else { throw APIError.badRequest("types is empty; name at least one of \(Destination.Kind.allCases.map(\.rawValue).joined(separator: ", ")).") }
            let recordTypes = try body.strings("record_types") ?? []
            guard !recordTypes.contains(where: \.isEmpty) else { throw APIError.badRequest("record_types holds an empty name.") }
            let new = DestinationRequest(
                id: try body.string("id"), url: url, tenant: try body.string("tenant"), connection: try body.string("connection"), kinds: kinds,
                recordTypes: recordTypes
            )
            let (destination, secret) = try await administration.addDestination(new)
            guard case .object(var members) = Self.withCounts(destination, [:]) else { return APIResponse.json(destination.json, status: .created) }
            members.append(("secret", .string(secret)))
            return APIResponse.json(.object(members), status: .created)
        case .pauseDestination, .resumeDestination:
            _ = try await APIBody.read(request, allowed: [])
            let destination = try await existingDestination(parameters, logger: logger)
            try await administration.setDestinationActive(id: destination.id, endpoint == .resumeDestination)
            return try await self.destination(try await existingDestination(parameters, logger: logger), logger: logger)
        case .rotateDestinationSecret:
            let body = try await APIBody.read(request, allowed: ["retire_old"])
            let destination = try await existingDestination(parameters, logger: logger)
            let secret = try await administration.rotateDestinationSecret(id: destination.id, retireOld: try body.flag("retire_old"))
            let now = try await existingDestination(parameters, logger: logger)
            return APIResponse.json(.object([
                ("id", .string(now.id)), ("secret", secret.map(JSONValue.string) ?? .null),
                ("secret_fingerprints", .array(now.secretFingerprints.map(JSONValue.string))),
            ]))
        case .removeDestination:
            let destination = try await existingDestination(parameters, logger: logger)
            let dropped = try await administration.removeDestination(id: destination.id)
            return APIResponse.json(.object([("id", .string(destination.id)), ("removed", .bool(true)), ("pending_dropped", .number(String(dropped)))]))
        case .replayDeliveries:
            let body = try await APIBody.read(request, allowed: ["since", "after_seq"])
            let destination = try await existingDestination(parameters, logger: logger)
            var since: Int64?
            if let text = try body.string("since") {
                guard let micros = Timestamp.microseconds(rfc3339: text) else {
                    throw APIError.badRequest("since must be an RFC 3339 time such as 2026-12-07T10:00:00Z, not \"\(text.prefix(64))\".")
                }
                since = micros
            }
            let after = try body.integer("after_seq")
            guard (since == nil) != (after == nil) else { throw APIError.badRequest("give since (an RFC 3339 time) or after_seq (a log sequence), one of them.") }
            if let after, after < 0 { throw APIError.badRequest("after_seq must be a log sequence (0 or more), not \(after).") }
            let queued = try await administration.replayDeliveries(destination: destination.id, since: since, afterSeq: after)
            return APIResponse.json(.object([("destination", .string(destination.id)), ("queued", .number(String(queued)))]))
        case .retryDeliveries:
            let body = try await APIBody.read(request, allowed: ["ids", "destination"])
            let ids = try body.integers("ids") ?? []
            let destination = try body.string("destination")
            guard !ids.isEmpty || destination != nil else {
                throw APIError.badRequest("give ids (dead deliveries to send again) or destination (all of its dead deliveries).")
            }
            guard ids.count <= 10_000 else { throw APIError.badRequest("ids may name at most 10000 deliveries at once.") }
            let queued = try await administration.retryDeliveries(ids: ids, destination: destination)
            return APIResponse.json(.object([("queued", .number(String(queued)))]))
        case .dashboardLink:
            let body = try await APIBody.read(request, allowed: ["next"])
            let next = try body.string("next") ?? "/ui"
            guard next.hasPrefix("/ui"), !next.contains("//"), next.utf8.count <= 512 else {
                throw APIError.badRequest("next must be a path under /ui, such as /ui/events?status=dead.")
            }
            let (path, expiresAt) = administration.dashboardLink(next: next)
            return APIResponse.json(.object([("path", .string(path)), ("expires_at", .string(Timestamp.rfc3339(microseconds: expiresAt)))]), status: .created)
        default:
            throw APIError.notFound("no such route.")
        }
    }

    /// `GET /v1/deliveries`: deliveries newest first; the cursor is the id of the last one seen.
    func deliveries(_ query: APIQuery, logger: Logger) async throws(APIError) -> Response {
        let limit = try query.limit()
        var status: Delivery.Status?
        if let text = query.string("status") {
            guard let parsed = Delivery.Status(rawValue: text) else { throw APIError.badRequest("status must be one of pending, delivered, dead, not \"\(text)\".") }
            status = parsed
        }
        let before = try query.sequence("cursor")
        let found = try await stored(logger) { () async throws(StoreError) in
            try await store.deliveries(destination: query.string("destination"), status: status, before: before, limit: limit + 1)
        }
        let page = found.prefix(limit)
        return APIResponse.page(page.map(\.json), nextCursor: found.count > limit ? page.last.map { String($0.id) } : nil)
    }

    // MARK: store errors

    /// Runs a store call, turning its error into what a client may see.
    func stored<T>(_ logger: Logger, _ body: () async throws(StoreError) -> T) async throws(APIError) -> T {
        do {
            return try await body()
        } catch {
            throw Self.storeFailure(error, logger: logger)
        }
    }

    /// A store error as an answer: `notFound` keeps its sentence (it names what is absent); anything
    /// else is logged and answered without internals.
    static func storeFailure(_ error: StoreError, logger: Logger) -> APIError {
        switch error.code {
        case .notFound:
            return .notFound(error.message.hasSuffix(".") ? error.message : error.message + ".")
        case .unavailable:
            logger.error("store unavailable for an API request", metadata: ["error": "\(error)"])
            return APIError(.serviceUnavailable, "the store cannot answer right now; retry shortly.")
        default:
            logger.error("API request failed in the store", metadata: ["error": "\(error)"])
            return APIError(.internalServerError, "the request failed inside the service; its log says why.")
        }
    }
}
