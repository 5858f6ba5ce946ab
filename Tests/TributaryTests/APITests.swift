import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Testing
import TributaryAPI
import TributaryCore
import TributaryRuntime
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting
import Yams

/// The `/v1` API against a live engine (127.0.0.1, port 0, temp SQLite file) and against `Schemas/openapi.yaml`.
@Suite("API")
struct APITests {
    static let token = TestEngine.adminToken
    static let auth = ["Authorization": "Bearer \(TestEngine.adminToken)"]

    // MARK: fixtures

    /// Runs `body` against a live engine whose mirror holds `seed`'s records (applied through the reconciler's store call).
    static func withAPI<T: Sendable>(
        adminToken: String? = TestEngine.adminToken,
        seed: [(connection: String, type: String, id: String)] = defaultSeed,
        allowPrivate: Bool = true,
        _ body: @escaping @Sendable (Engine, any TestClientProtocol) async throws -> T
    ) async throws -> T {
        let directory = try TestPaths.temporaryDirectory("api")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = TestEngine.configuration(directory: directory)
        configuration.adminToken = adminToken
        configuration.allowPrivateUpstreams = allowPrivate
        let engine = try Engine(configuration: configuration)
        for connection in Set(seed.map(\.connection)).sorted() {
            _ = try await engine.store.addConnection(
                id: connection, provider: "github", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: ["s"], now: 0
            )
        }
        // A destination, so that the seed's changes queue deliveries for /v1/deliveries to list (the
        // outbound guard keeps them from loopback: no request leaves).
        _ = try await engine.store.addDestination(
            id: "app", url: "http://127.0.0.1:9/hook", tenant: nil, connection: nil, kinds: [.recordChanged], recordTypes: [], secret: "whsec_c2VjcmV0", now: 0
        )
        try await write(seed, version: 1, to: engine.store)
        return try await TestEngine.live(engine) { client in try await body(engine, client) }
    }

    static let defaultSeed: [(connection: String, type: String, id: String)] = [
        ("gh1", "issue", "1"), ("gh1", "issue", "2"), ("gh1", "pull", "1"), ("gh2", "issue", "1"),
    ]

    /// Appends one full-state event per record and applies them, in the order given (so that is the commit order).
    static func write(_ records: [(connection: String, type: String, id: String)], version: Int64, to store: Store) async throws {
        for r in records {
            let body = #"{"id":"\#(r.id)","v":\#(version)}"#
            _ = try await store.append(EventDraft(
                connection: r.connection, tenant: "acme", provider: "github", source: .webhook,
                eventId: "\(r.connection)/\(r.type)/\(r.id)/v\(version)", type: "\(r.type).updated",
                record: RecordRef(recordType: r.type, recordId: r.id, version: version, deleted: false, fullState: true),
                occurredAt: nil, receivedAt: 1_000_000 * version, headers: [], body: Array(body.utf8), url: nil
            ))
        }
        let report = try await store.applyPendingEvents(limit: 10_000, now: 1_000_000 * version) { _, _, body in body }
        #expect(report.applied == records.count, "the reconciler applied \(report.applied) of \(records.count) seeded events")
    }

    static func get(_ client: any TestClientProtocol, _ path: String, headers: [String: String] = auth) async throws -> SentResponse {
        try await client.send(path, method: .get, headers: headers, body: "")
    }

    /// A 200 answer's JSON object, or a recorded issue naming the path.
    static func object(_ response: SentResponse, _ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
        #expect(response.status == .ok, "GET \(path) answered \(response.status): \(response.bodyText)", sourceLocation: sourceLocation)
        return try #require(response.json, "GET \(path) answered no JSON: \(response.bodyText)", sourceLocation: sourceLocation)
    }

    static func items(_ page: JSONValue) -> [JSONValue] {
        guard case .array(let items)? = page["items"] else { return [] }
        return items
    }

    static func keys(_ value: JSONValue) -> Set<String> {
        guard case .object(let members) = value else { return [] }
        return Set(members.map(\.key))
    }

    static func key(_ record: JSONValue) -> String {
        [record["connection"], record["record_type"], record["record_id"]].map { $0?.stringValue ?? "?" }.joined(separator: "/")
    }

    // MARK: the OpenAPI document

    /// `Schemas/openapi.yaml`, parsed.
    struct Spec {
        let root: [String: Any]

        init() throws {
            let url = TestPaths.repositoryRoot.appendingPathComponent("Schemas/openapi.yaml")
            let text = try String(contentsOf: url, encoding: .utf8)
            root = try #require(try Yams.load(yaml: text) as? [String: Any], "Schemas/openapi.yaml is not a YAML mapping")
        }

        var paths: [String: Any] { root["paths"] as? [String: Any] ?? [:] }

        /// Every (METHOD, path) the document describes.
        var operations: Set<String> {
            let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]
            var found: Set<String> = []
            for (path, item) in paths {
                for method in (item as? [String: Any] ?? [:]).keys where methods.contains(method) {
                    found.insert("\(method.uppercased()) \(path)")
                }
            }
            return found
        }

        func operation(_ endpoint: APIEndpoint) -> [String: Any]? {
            (paths[endpoint.path] as? [String: Any])?[endpoint.method.rawValue.lowercased()] as? [String: Any]
        }

        /// The `application/json` schema of a response, with `$ref`s followed.
        func responseSchema(_ endpoint: APIEndpoint, status: String) -> [String: Any]? {
            guard let responses = operation(endpoint)?["responses"] as? [String: Any],
                  let response = resolve(responses[status] as? [String: Any]),
                  let content = response["content"] as? [String: Any],
                  let json = content["application/json"] as? [String: Any] else { return nil }
            return resolve(json["schema"] as? [String: Any])
        }

        /// Follows a local `$ref` (`#/components/...`).
        func resolve(_ node: [String: Any]?) -> [String: Any]? {
            guard let node else { return nil }
            guard let ref = node["$ref"] as? String, ref.hasPrefix("#/") else { return node }
            var current: Any? = root
            for part in ref.dropFirst(2).split(separator: "/") { current = (current as? [String: Any])?[String(part)] }
            return resolve(current as? [String: Any])
        }

        /// The required and the declared property names of an object schema (through `allOf`).
        func keys(_ schema: [String: Any]?) -> (required: Set<String>, declared: Set<String>) {
            guard let schema = resolve(schema) else { return ([], []) }
            var required = Set(schema["required"] as? [String] ?? [])
            var declared = Set((schema["properties"] as? [String: Any] ?? [:]).keys)
            for part in schema["allOf"] as? [[String: Any]] ?? [] {
                let inner = keys(part)
                required.formUnion(inner.required)
                declared.formUnion(inner.declared)
            }
            return (required, declared)
        }

        /// The schema of a listing's items, if the schema is a listing.
        func itemSchema(_ schema: [String: Any]?) -> [String: Any]? {
            let items = (resolve(schema)?["properties"] as? [String: Any])?["items"] as? [String: Any]
            return resolve(items?["items"] as? [String: Any])
        }
    }

    /// A concrete request for each route (path and JSON body), against the default seed.
    static func sample(_ endpoint: APIEndpoint) -> (path: String, body: String) {
        switch endpoint {
        case .records: ("/v1/records", "")
        case .record: ("/v1/records/gh1/issue/2", "")
        case .events: ("/v1/events", "")
        case .status: ("/v1/status", "")
        case .changes: ("/v1/changes", "")
        case .destinations: ("/v1/destinations", "")
        case .destination: ("/v1/destinations/app", "")
        case .addDestination: ("/v1/destinations", #"{"url": "https://app.example.com/hooks", "id": "second"}"#)
        case .removeDestination: ("/v1/destinations/app", "")
        case .pauseDestination: ("/v1/destinations/app/pause", "")
        case .resumeDestination: ("/v1/destinations/app/resume", "")
        case .rotateDestinationSecret: ("/v1/destinations/app/rotate-secret", "{}")
        case .replayDeliveries: ("/v1/destinations/app/replay", #"{"after_seq": 0}"#)
        case .deliveries: ("/v1/deliveries?destination=app", "")
        case .retryDeliveries: ("/v1/deliveries/retry", #"{"destination": "app"}"#)
        case .dashboardLink: ("/v1/ui/login-links", #"{"next": "/ui/events?status=dead"}"#)
        }
    }

    /// The status a route answers when it succeeds: 201 for what it creates, else 200.
    static func success(_ endpoint: APIEndpoint) -> HTTPResponse.Status { [.addDestination, .dashboardLink].contains(endpoint) ? .created : .ok }

    @Test("the route table and Schemas/openapi.yaml describe exactly the same (method, path) pairs")
    func specMatchesRouteTable() throws {
        let spec = try Spec()
        let routes = Set(APIEndpoint.allCases.map { "\($0.method.rawValue) \($0.path)" })
        #expect(spec.operations == routes, "only in the spec: \(spec.operations.subtracting(routes).sorted()); only in the route table: \(routes.subtracting(spec.operations).sorted())")
        #expect(spec.root["openapi"] as? String == "3.1.0")
        let schemes = (spec.root["components"] as? [String: Any])?["securitySchemes"] as? [String: Any]
        let bearer = try #require(schemes?.values.compactMap { $0 as? [String: Any] }.first { $0["scheme"] as? String == "bearer" },
                                  "openapi.yaml declares no bearer security scheme")
        #expect(bearer["type"] as? String == "http")
        #expect(spec.root["security"] != nil, "openapi.yaml does not require the bearer scheme globally")
        for endpoint in APIEndpoint.allCases {
            let responses = Set((spec.operation(endpoint)?["responses"] as? [String: Any] ?? [:]).keys)
            let success = String(Self.success(endpoint).code)
            #expect(responses.isSuperset(of: [success, "401"]), "\(endpoint.method) \(endpoint.path) documents responses \(responses.sorted()), not \(success) and 401")
            if endpoint.writes {
                #expect(responses.contains("400"), "\(endpoint.method) \(endpoint.path) takes a body but documents no 400")
            }
        }
    }

    @Test("each route: 401 without a token and with a wrong one (nothing changed); 2xx with it, holding exactly the documented keys", arguments: APIEndpoint.allCases)
    func route(_ endpoint: APIEndpoint) async throws {
        let spec = try Spec()
        let success = Self.success(endpoint)
        let response = spec.responseSchema(endpoint, status: String(success.code))
        let schema = try #require(response, "openapi.yaml has no \(success.code) JSON schema for \(endpoint.method) \(endpoint.path)")
        // Read from the spec before the server starts: the parsed YAML is not Sendable, these sets are.
        let documented = spec.keys(schema)
        let itemKeys = spec.itemSchema(schema).map { spec.keys($0) }
        try await Self.withAPI { engine, client in
            let (path, body) = Self.sample(endpoint)
            let label = "\(endpoint.method) \(path)"
            let before = try await engine.store.destinations()
            let refusals: [(label: String, headers: [String: String])] = [
                ("no token", [:]), ("a wrong token", ["Authorization": "Bearer \(Self.token)x"]),
                ("another scheme", ["Authorization": "Basic \(Self.token)"]),
            ]
            for (refusal, headers) in refusals {
                let refused = try await client.send(path, method: endpoint.method, headers: headers, body: body)
                #expect(refused.status == .unauthorized, "\(label) with \(refusal) answered \(refused.status)")
                #expect(refused.headers[.wwwAuthenticate] == "Bearer", "\(label) with \(refusal): WWW-Authenticate is \(refused.headers[.wwwAuthenticate] ?? "absent")")
                #expect(refused.json?["error"]?.stringValue?.isEmpty == false, "\(label) with \(refusal): no JSON error in \(refused.bodyText)")
                #expect(!Self.keys(refused.json ?? .null).contains("items"), "\(label) with \(refusal) leaked data")
            }
            #expect(try await engine.store.destinations() == before, "\(label) without the token changed the destinations")
            let answer = try await client.send(path, method: endpoint.method, headers: Self.auth, body: body)
            #expect(answer.status == success, "\(label) answered \(answer.status): \(answer.bodyText)")
            let object = try #require(answer.json, "\(label) answered no JSON: \(answer.bodyText)")
            #expect(documented.required.isSubset(of: Self.keys(object)), "\(label) lacks documented keys \(documented.required.subtracting(Self.keys(object)).sorted())")
            #expect(Self.keys(object).isSubset(of: documented.declared), "\(label) has undocumented keys \(Self.keys(object).subtracting(documented.declared).sorted())")
            if let itemKeys {
                let items = Self.items(object)
                #expect(!items.isEmpty, "\(label) listed nothing, so its items were not checked")
                for item in items {
                    #expect(itemKeys.required.isSubset(of: Self.keys(item)), "an item of \(path) lacks \(itemKeys.required.subtracting(Self.keys(item)).sorted())")
                    #expect(Self.keys(item).isSubset(of: itemKeys.declared), "an item of \(path) has undocumented \(Self.keys(item).subtracting(itemKeys.declared).sorted())")
                }
            }
        }
    }

    // MARK: records

    @Test("walking /v1/records with next_cursor sees every record exactly once, in (connection, type, id) order")
    func recordsPagination() async throws {
        var seed: [(connection: String, type: String, id: String)] = []
        for connection in ["gh2", "gh1"] {
            for type in ["pull", "issue"] {
                // Ids that sort differently as numbers and as text, and one needing escapes in a cursor.
                for id in ["1", "10", "2", "9", "a/b c", "ü"] { seed.append((connection, type, id)) }
            }
        }
        let expected = seed.map { "\($0.connection)/\($0.type)/\($0.id)" }
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        // "/" sorts before every id character used here, so joined keys order as the tuples do.
        let seen = try await Self.withAPI(seed: seed) { _, client in
            var seen: [String] = []
            var cursor: String? = nil
            var pages = 0
            repeat {
                let path = "/v1/records?limit=7" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try Self.object(try await Self.get(client, path), path)
                #expect(Self.items(page).count <= 7)
                seen += Self.items(page).map(Self.key)
                cursor = page["next_cursor"]?.stringValue
                pages += 1
                #expect(pages <= 10, "pagination does not end")
            } while cursor != nil && pages <= 10
            #expect(pages == 4, "24 records at 7 a page is 4 pages, the last one ending with next_cursor null; got \(pages)")
            return seen
        }
        #expect(seen == expected)
        #expect(Set(seen).count == seen.count, "a record was listed twice")
    }

    @Test("/v1/records filters by connection, type and updated_after; one record by its key, 404 when absent")
    func recordsFilters() async throws {
        try await Self.withAPI { engine, client in
            let gh2 = try Self.object(try await Self.get(client, "/v1/records?connection=gh2"), "connection=gh2")
            #expect(Self.items(gh2).map(Self.key) == ["gh2/issue/1"])
            let pulls = try Self.object(try await Self.get(client, "/v1/records?connection=gh1&type=pull"), "type=pull")
            #expect(Self.items(pulls).map(Self.key) == ["gh1/pull/1"])
            #expect(pulls["next_cursor"] == .null)

            try await Self.write([("gh1", "issue", "2")], version: 5, to: engine.store)
            let recent = try Self.object(try await Self.get(client, "/v1/records?updated_after=1970-01-01T00:00:02Z"), "updated_after")
            #expect(Self.items(recent).map(Self.key) == ["gh1/issue/2"])

            let one = try Self.object(try await Self.get(client, "/v1/records/gh1/issue/2"), "one record")
            #expect(one["version"]?.int64Value == 5)
            #expect(one["data"]?["v"]?.int64Value == 5)
            #expect(one == (try await engine.store.record(connection: "gh1", type: "issue", id: "2"))?.json, "the API's record is not MirrorRecord.json")

            let missing = try await Self.get(client, "/v1/records/gh1/issue/404")
            #expect(missing.status == .notFound)
            #expect(missing.json?["error"]?.stringValue?.contains("404") == true, "the 404 does not name the record: \(missing.bodyText)")
            let noConnection = try await Self.get(client, "/v1/status?connection=nope")
            #expect(noConnection.status == .notFound)
            #expect(noConnection.json?["error"]?.stringValue?.contains("nope") == true)
        }
    }

    @Test("a record id with reserved characters is found by its percent-encoded path")
    func encodedRecordId() async throws {
        try await Self.withAPI(seed: [("gh1", "issue", "a/b c")]) { _, client in
            let one = try Self.object(try await Self.get(client, "/v1/records/gh1/issue/a%2Fb%20c"), "encoded id")
            #expect(one["record_id"]?.stringValue == "a/b c")
        }
    }

    // MARK: events and status

    @Test("/v1/events pages in seq order with the last seq as cursor, and filters by status")
    func eventsPagination() async throws {
        try await Self.withAPI { engine, client in
            let all = try await engine.store.events(EventFilter(limit: 100)).map(\.seq)
            #expect(all.count == 4)
            var seen: [Int64] = []
            var cursor: String? = nil
            var pages = 0
            repeat {
                let path = "/v1/events?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try Self.object(try await Self.get(client, path), path)
                seen += Self.items(page).compactMap { $0["seq"]?.int64Value }
                cursor = page["next_cursor"]?.stringValue
                pages += 1
            } while cursor != nil && pages <= 5
            #expect(seen == all)
            #expect(pages == 2)

            let applied = try Self.object(try await Self.get(client, "/v1/events?status=applied&connection=gh2"), "status filter")
            #expect(Self.items(applied).map { $0["record_id"]?.stringValue } == ["1"])
            let pending = try Self.object(try await Self.get(client, "/v1/events?status=pending"), "pending")
            #expect(Self.items(pending).isEmpty)
        }
    }

}
