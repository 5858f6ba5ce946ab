import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TributaryCore

/// The simulator's HTTP surface.
///
/// Provider API (bearer token required; rate limits and chaos apply):
/// - `GET /v1/{type}?updated_since=&after_id=&limit=` — timestamp + keyset style, `Link: rel="next"`.
/// - `GET /v1/{type}/pages?page_token=&limit=&include_deleted=` — page-token style.
/// - `GET /v1/{type}/offset?offset=&limit=` with `updated_on=>=T` or Redmine's filter triple
///   `f[]=updated_on&op[updated_on]=>=&v[updated_on][]=T` — offset style, `total_count` in the body.
/// - `GET /v1/{type}/delta?sync_token=&page_token=&limit=` — sync-token style; 410 when the token expired.
/// - `GET /v1/events?starting_after=&limit=` — event-id style; 400 `event_expired` when events after the cursor were pruned.
/// - `GET /v1/{type}/{id}` — one record; 404 (or 410) once deleted.
///
/// Control plane (no token, no limits; loopback tooling only): `GET /_sim/state`, `GET /_sim/counters`,
/// `POST /_sim/reset-counters`, `GET|POST /_sim/mutations`, `POST /_sim/mutate?count=N`.
///
/// Every answer is JSON; errors are `{"error":"<code>"}` with a deliberate status, nothing else.
struct SimulatorRoutes: Sendable {
    let simulator: ProviderSimulator

    /// An answer before it becomes a `Response`.
    struct Reply {
        var status: HTTPResponse.Status
        var body: String
        var headers: [(name: String, value: String)] = []

        static func error(_ status: HTTPResponse.Status, _ code: String) -> Reply {
            Reply(status: status, body: #"{"error":"\#(code)"}"#)
        }
    }

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/v1/:type") { request, context in
            let type = context.parameters.get("type") ?? ""
            return try await guarded(request) { type == "events" ? events(request) : timestampList(type: type, request: request) }
        }
        router.get("/v1/:type/:id") { request, context in
            let type = context.parameters.get("type") ?? ""
            let id = context.parameters.get("id") ?? ""
            return try await guarded(request) {
                switch id {
                case "pages": return pageTokenList(type: type, request: request)
                case "offset": return offsetList(type: type, request: request)
                case "delta": return deltaList(type: type, request: request)
                default: return fetchOne(type: type, id: id)
                }
            }
        }
        router.get("/_sim/state") { _, _ in Self.response(Reply(status: .ok, body: simulator.stateJSONText())) }
        router.get("/_sim/counters") { _, _ in Self.response(Reply(status: .ok, body: simulator.counters().json.jsonText)) }
        router.post("/_sim/reset-counters") { _, _ in
            simulator.resetCounters()
            return Self.response(Reply(status: .ok, body: simulator.counters().json.jsonText))
        }
        router.get("/_sim/mutations") { _, _ in Self.response(mutationStatus()) }
        router.post("/_sim/mutations") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 16)
            return Self.response(controlMutations(JSONValue(parsing: Array(buffer: body))))
        }
        router.post("/_sim/mutate") { request, _ in Self.response(mutateNow(request)) }
        addOAuth(to: router)
        let subscriptions = simulator.subscriptionStore
        router.post("/v1/subscriptions") { request, _ in
            let body = JSONValue(parsing: Array(buffer: try await request.body.collect(upTo: 1 << 16)))
            return try await guarded(request) {
                let (status, text) = subscriptions.create(body, now: simulator.clock.nowMicroseconds())
                return Reply(status: .init(code: status), body: text)
            }
        }
        router.patch("/v1/subscriptions/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            let body = JSONValue(parsing: Array(buffer: try await request.body.collect(upTo: 1 << 16)))
            return try await guarded(request) {
                let (status, text) = subscriptions.renew(id: id, body, now: simulator.clock.nowMicroseconds())
                return Reply(status: .init(code: status), body: text)
            }
        }
        router.delete("/v1/subscriptions/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await guarded(request) {
                let status = subscriptions.delete(id: id)
                return Reply(status: .init(code: status), body: status == 204 ? "" : #"{"error":"not_found"}"#)
            }
        }
    }

    // MARK: OAuth

    func addOAuth<Context: RequestContext>(to router: Router<Context>) {
        guard let oauth = simulator.oauth else { return }
        router.get("/oauth/authorize") { request, _ in
            let answer = oauth.authorize(query: Self.decodedQuery(request.uri.query), now: simulator.clock.nowMicroseconds())
            guard let location = answer.location else { return Self.response(.error(.init(code: answer.status), answer.error ?? "invalid_request")) }
            return Self.response(Reply(status: .found, body: "{}", headers: [("Location", location)]))
        }
        router.post("/oauth/token") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 16)
            let form = Self.decodedQuery(String(buffer: body))
            let answer = oauth.token(form: form, authorization: request.headers[.authorization], now: simulator.clock.nowMicroseconds())
            if oauth.configuration.tokenLatencyMilliseconds > 0 { try await Task.sleep(for: .milliseconds(oauth.configuration.tokenLatencyMilliseconds)) }
            var buffer = ByteBuffer()
            buffer.writeString(answer.body)
            return Response(status: .init(code: answer.status), headers: [.contentType: answer.contentType, .cacheControl: "no-store"], body: .init(byteBuffer: buffer))
        }
        router.post("/app/installations/:installation/access_tokens") { request, context in
            let installation = context.parameters.get("installation") ?? ""
            let answer = oauth.installationToken(installation: installation, authorization: request.headers[.authorization], now: simulator.clock.nowMicroseconds())
            var buffer = ByteBuffer()
            buffer.writeString(answer.body)
            return Response(status: .init(code: answer.status), headers: [.contentType: answer.contentType], body: .init(byteBuffer: buffer))
        }
        router.post("/oauth/revoke") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 16)
            oauth.revoke(form: Self.decodedQuery(String(buffer: body)))
            return Self.response(Reply(status: .ok, body: "{}"))
        }
        router.get("/_sim/oauth") { _, _ in Self.response(Reply(status: .ok, body: oauth.counters.json.jsonText)) }
        router.post("/_sim/oauth/fail") { request, _ in
            let query = request.uri.queryParameters
            guard let mode = query["mode"].flatMap({ SimulatorOAuth.Chaos(rawValue: String($0)) }),
                  let count = Int(query["count"].map(String.init) ?? "1"), (1...1000).contains(count) else {
                return Self.response(.error(.badRequest, "invalid_chaos"))
            }
            oauth.queueChaos(mode, count: count)
            return Self.response(Reply(status: .ok, body: "{}"))
        }
        router.post("/_sim/oauth/expire") { _, _ in
            oauth.expireAccessTokens()
            return Self.response(Reply(status: .ok, body: "{}"))
        }
    }

    // MARK: Admission

    /// Authenticates, asks the traffic gate, waits the added latency, then answers with `serve` or the gate's refusal.
    func guarded(_ request: Request, serve: () -> Reply) async throws -> Response {
        var bucket = Self.bearerToken(request)
        var expired = false
        if let token = bucket, !simulator.configuration.tokens.contains(token) {
            // An OAuth access token draws on its grant's budget, however often it was renewed.
            switch simulator.oauth?.check(token, now: simulator.clock.nowMicroseconds()) {
            case .valid(let grant)?: bucket = "oauth:" + grant
            case .expired?: bucket = nil; expired = true
            case .unknown?, nil: bucket = nil
            }
        }
        guard let bucket else {
            simulator.refuseUnauthorized()
            var reply = Reply.error(.unauthorized, expired ? "invalid_token" : "unauthorized")
            reply.headers.append(("WWW-Authenticate", expired ? #"Bearer error="invalid_token""# : "Bearer"))
            return Self.response(reply)
        }
        let decision = simulator.admit(token: bucket)
        if decision.latencyMicros > 0 { try await Task.sleep(for: .microseconds(decision.latencyMicros)) }
        var reply: Reply
        switch decision.outcome {
        case .serve: reply = serve()
        case .rateLimited: reply = .error(.tooManyRequests, "rate_limited")
        case .serverError(let status): reply = .error(HTTPResponse.Status(code: status), "server_error")
        }
        reply.headers.append(contentsOf: decision.headers)
        return Self.response(reply)
    }

    static func bearerToken(_ request: Request) -> String? {
        guard let value = request.headers[.authorization], value.count > 7, value.prefix(7).lowercased() == "bearer " else { return nil }
        return String(value.dropFirst(7)).trimmingSpaces
    }

    // MARK: Provider API

    func timestampList(type: String, request: Request) -> Reply {
        guard simulator.configuration.types.contains(type) else { return .error(.notFound, "unknown_type") }
        let query = request.uri.queryParameters
        guard let limit = pageLimit(query["limit"]) else { return .error(.badRequest, "invalid_limit") }
        var since = Int64.min
        if let text = query["updated_since"], !text.isEmpty {
            guard let value = Timestamp.microseconds(rfc3339: String(text)) else { return .error(.badRequest, "invalid_updated_since") }
            since = value
        }
        let afterID = query["after_id"].flatMap { $0.isEmpty ? nil : String($0) }
        if afterID != nil, since == Int64.min { return .error(.badRequest, "after_id_requires_updated_since") }
        let repeatCount = simulator.configuration.chaos.repeatAtBoundary
        let page = simulator.read { state, _ in
            state.timestampPage(type: type, since: since, afterID: afterID, limit: limit, repeatCount: repeatCount)
        }
        var reply = Reply(status: .ok, body: #"{"items":[\#(page.records.map(\.jsonText).joined(separator: ","))],"has_more":\#(page.hasMore)}"#)
        if page.hasMore, let last = page.records.last {
            let cursor = SimulatorTime.rfc3339(last.updatedAt, granularity: simulator.configuration.granularity)
            let next = "http://\(authority(request))/v1/\(type)?updated_since=\(Self.percentEncoded(cursor))"
                + "&after_id=\(Self.percentEncoded(last.id))&limit=\(limit)"
            reply.headers.append(("Link", "<\(next)>; rel=\"next\""))
        }
        return reply
    }

    func offsetList(type: String, request: Request) -> Reply {
        guard simulator.configuration.types.contains(type) else { return .error(.notFound, "unknown_type") }
        // Decoded here, names too: Redmine's names carry brackets (`f[]`), which a client percent-encodes.
        let pairs = Self.decodedQuery(request.uri.query)
        func first(_ name: String) -> String? { pairs.first { $0.0 == name }?.1 }
        func all(_ name: String) -> [String] { pairs.filter { $0.0 == name }.map(\.1) }
        guard let limit = pageLimit(first("limit").map { Substring($0) }) else { return .error(.badRequest, "invalid_limit") }
        var offset = 0
        if let text = first("offset") {
            guard let value = Int(text), value >= 0 else { return .error(.badRequest, "invalid_offset") }
            offset = value
        }
        // The filter, as Redmine takes it: the shortcut `updated_on=>=T`, or a list of fields `f[]`, each
        // with its operator `op[field]` and values `v[field][]` (`*` = any value, no `v`).
        var since = Int64.min
        var filters: [(field: String, op: String, values: [String])] = []
        if let shortcut = first("updated_on") {
            guard shortcut.hasPrefix(">=") else { return .error(.badRequest, "unsupported_operator") }
            filters.append(("updated_on", ">=", [String(shortcut.dropFirst(2))]))
        }
        for field in all("f[]") where !field.isEmpty {
            filters.append((field, first("op[\(field)]") ?? "", all("v[\(field)][]")))
        }
        for filter in filters {
            switch (filter.field, filter.op) {
            case ("updated_on", ">="):
                guard filter.values.count == 1, let value = Timestamp.microseconds(rfc3339: filter.values[0]) else {
                    return .error(.badRequest, "invalid_updated_on")
                }
                since = max(since, value)
            case ("status_id", "*"): break
            default: return .error(.badRequest, "unsupported_filter")
            }
        }
        let page = simulator.read { state, _ in state.offsetPage(type: type, since: since, offset: offset, limit: limit) }
        return Reply(
            status: .ok,
            body: #"{"items":[\#(page.records.map(\.jsonText).joined(separator: ","))],"total_count":\#(page.total),"offset":\#(offset),"limit":\#(limit)}"#
        )
    }

    /// The query's `name=value` pairs in order, both percent-decoded (`+` is a space, as in a form).
    static func decodedQuery(_ query: String?) -> [(String, String)] {
        func decode(_ text: Substring) -> String {
            text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
        }
        return (query ?? "").split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    func pageTokenList(type: String, request: Request) -> Reply {
        guard simulator.configuration.types.contains(type) else { return .error(.notFound, "unknown_type") }
        let query = request.uri.queryParameters
        guard let limit = pageLimit(query["limit"]) else { return .error(.badRequest, "invalid_limit") }
        var afterID: String?
        if let text = query["page_token"], !text.isEmpty {
            guard case .page(let tokenType, let after)? = CursorToken(text: String(text)), tokenType == type else {
                return .error(.badRequest, "invalid_page_token")
            }
            afterID = after
        }
        let includeDeleted = query["include_deleted"] == "true"
        let repeatCount = simulator.configuration.chaos.repeatAtBoundary
        let page = simulator.read { state, _ in
            state.idPage(type: type, afterID: afterID, includeDeleted: includeDeleted, limit: limit, repeatCount: repeatCount)
        }
        let next = page.hasMore ? page.records.last.map { Self.quoted(CursorToken.page(type: type, afterID: $0.id).text) } : nil
        return Reply(status: .ok, body: #"{"items":[\#(page.records.map(\.jsonText).joined(separator: ","))],"next_page_token":\#(next ?? "null")}"#)
    }

    func deltaList(type: String, request: Request) -> Reply {
        guard simulator.configuration.types.contains(type) else { return .error(.notFound, "unknown_type") }
        let query = request.uri.queryParameters
        guard let limit = pageLimit(query["limit"]) else { return .error(.badRequest, "invalid_limit") }
        let syncToken = query["sync_token"].flatMap { $0.isEmpty ? nil : String($0) }
        let pageToken = query["page_token"].flatMap { $0.isEmpty ? nil : String($0) }
        let configuration = simulator.configuration
        let result = simulator.read { state, now in
            state.deltaPage(
                type: type, syncToken: syncToken, pageToken: pageToken, limit: limit, now: now,
                lifetimeSeconds: configuration.syncTokenLifetimeSeconds, maxChanges: configuration.syncTokenMaxChanges
            )
        }
        switch result {
        case .failure(.expired): return .error(.gone, "sync_token_expired")
        case .failure(.invalid): return .error(.badRequest, "invalid_token")
        case .success(let page):
            let items = page.records.map(\.jsonText).joined(separator: ",")
            let next = page.nextPageToken.map(Self.quoted) ?? "null"
            let sync = page.syncToken.map(Self.quoted) ?? "null"
            return Reply(status: .ok, body: #"{"items":[\#(items)],"next_page_token":\#(next),"sync_token":\#(sync)}"#)
        }
    }

    func events(_ request: Request) -> Reply {
        let query = request.uri.queryParameters
        guard let limit = pageLimit(query["limit"]) else { return .error(.badRequest, "invalid_limit") }
        let startingAfter = query["starting_after"].flatMap { $0.isEmpty ? nil : String($0) }
        let result = simulator.read { state, _ in
            state.events.page(startingAfter: startingAfter, limit: limit).map { page in
                (text: page.events.map(\.jsonText).joined(separator: ","), hasMore: page.hasMore)
            }
        }
        switch result {
        case .failure(.expired): return .error(.badRequest, "event_expired")
        case .failure(.unknown): return .error(.badRequest, "invalid_starting_after")
        case .success(let page):
            return Reply(status: .ok, body: #"{"object":"list","data":[\#(page.text)],"has_more":\#(page.hasMore)}"#)
        }
    }

    func fetchOne(type: String, id: String) -> Reply {
        guard simulator.configuration.types.contains(type) else { return .error(.notFound, "unknown_type") }
        guard let record = simulator.record(type: type, id: id) else { return .error(.notFound, "not_found") }
        if record.deleted {
            return simulator.configuration.deletedFetchStatus == .gone ? .error(.gone, "deleted") : .error(.notFound, "not_found")
        }
        return Reply(status: .ok, body: record.jsonText)
    }

    // MARK: Control plane

    func mutationStatus() -> Reply {
        let rate = simulator.mutationRate
        return Reply(status: .ok, body: #"{"running":\#(rate != nil),"rate":\#(rate.map { String($0) } ?? "null")}"#)
    }

    /// `{"running":true,"rate":50}` starts or re-rates the loop; `{"running":false}` stops it.
    /// Without a rate, a start reuses the configured rate or 10 changes per second.
    func controlMutations(_ body: JSONValue?) -> Reply {
        guard let body, case .bool(let running)? = body["running"] else { return .error(.badRequest, "expected_running_flag") }
        if running {
            let rate = body["rate"]?.doubleValue ?? simulator.configuration.mutationsPerSecond ?? 10
            do {
                try simulator.startMutations(rate: rate)
            } catch {
                return .error(.badRequest, "invalid_rate")
            }
        } else {
            simulator.stopMutations()
        }
        return mutationStatus()
    }

    func mutateNow(_ request: Request) -> Reply {
        let text = request.uri.queryParameters["count"].map(String.init) ?? "1"
        guard let count = Int(text), (1...100_000).contains(count) else { return .error(.badRequest, "invalid_count") }
        let changes = simulator.mutate(count: count).map { change in
            #"{"kind":"\#(change.kind.rawValue)","type":"\#(change.record.type)","id":"\#(change.record.id)","version":\#(change.record.version),"event_id":"\#(change.eventID)"}"#
        }
        return Reply(status: .ok, body: #"{"count":\#(count),"changes":[\#(changes.joined(separator: ","))]}"#)
    }

    // MARK: Helpers

    /// `limit` absent → the default; not a positive integer → `nil` (400); above the maximum → the maximum.
    func pageLimit(_ text: Substring?) -> Int? {
        guard let text, !text.isEmpty else { return simulator.configuration.defaultPageSize }
        guard let value = Int(text), value >= 1 else { return nil }
        return min(value, simulator.configuration.maxPageSize)
    }

    /// The authority clients reached us at, for absolute `Link` URLs.
    func authority(_ request: Request) -> String {
        if let authority = request.head.authority, !authority.isEmpty { return authority }
        return "\(simulator.configuration.host):\(simulator.configuration.port)"
    }

    static func quoted(_ text: String) -> String {
        JSONValue.string(text).jsonText
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    static func percentEncoded(_ text: String) -> String {
        PercentEncoding.encode(text)
    }

    static func response(_ reply: Reply) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        for (name, value) in reply.headers {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        return Response(status: reply.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: reply.body)))
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
