import Foundation
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryProviders
import TributaryScheduling
import TributaryTesting
import TributaryUpstream

/// The manifest format's request side: templated query values and repeated keys, `initial` for
/// every cursor kind, offset paging, ETags tied to their URL, and what a coarse version does to the
/// event id. Every hostile manifest is refused with the path of what is wrong.
@Suite("Manifest format")
struct ManifestFormatTests {
    static let now: Int64 = 1_795_000_000_000_000

    /// A manifest with one polled resource, its lines given (indented under `- name: r`).
    static func manifest(_ resource: String, webhooks: Bool = false) -> String {
        """
        id: p
        name: P
        docs: https://example.test/docs
        api:
          baseURL: https://api.example.test
          auth: {style: bearer}
        poll:
          resources:
            - name: r
              recordType: item
        \(resource.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(separator: "\n"))
        """
    }

    static func compile(_ text: String) throws -> Result<Provider, ManifestErrors> {
        let directory = try TestPaths.temporaryDirectory("manifest-format")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("p.yaml").path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return ManifestCatalog.validate(file: file)
    }

    static func resource(_ lines: String) throws -> PollResource {
        switch try compile(manifest(lines)) {
        case .success(let provider): return try #require(provider.pollResources.first)
        case .failure(let errors): throw errors
        }
    }

    static func client(_ resource: PollResource) throws -> UpstreamClient {
        let api = try JSONDecoder().decode(ProviderManifest.API.self, from: Data(#"{"baseURL":"https://api.example.test","auth":{"style":"bearer"}}"#.utf8))
        return UpstreamClient(
            transport: FixtureTransport(), limiter: RateLimiter(budget: RateLimitBudget(capacity: 1, refillPerSecond: 1, now: 0), clock: EngineClock.system.reading { 0 }),
            api: api, baseURL: nil, token: "t", account: nil, clock: EngineClock.system.reading { 0 }
        )
    }

    /// The query of `url` as (name, value) pairs, decoded, in order.
    static func query(_ url: String) -> [String] {
        (URLComponents(string: url)?.queryItems ?? []).map { "\($0.name)=\($0.value ?? "")" }
    }

    static let redmine = """
        path: /issues.json
        query:
          - {name: "f[]", value: updated_on}
          - {name: "op[updated_on]", value: ">="}
          - {name: "v[updated_on][]", value: "{since}"}
          - {name: "f[]", value: status_id}
          - {name: "op[status_id]", value: "*"}
          - {name: "updated_on", value: ">={since}"}
        pageSize: {param: limit, value: 2}
        items: /issues
        id: /id
        updatedAt: {pointer: /updated_on, format: rfc3339}
        cursor: {kind: timestamp, since: {format: rfc3339}}
        next: {offset: {param: offset}, total: /total_count}
        """

    @Test("templated values with repeated keys, in order; an entry whose placeholder has no value is left out")
    func templatedQuery() throws {
        let resource = try Self.resource(Self.redmine)
        let client = try Self.client(resource)
        // A backfill: no since yet, so the two entries naming it are not sent.
        var cursor = resource.machine.begin(PollCursor(), now: Self.now)
        let first = try resource.request(for: cursor, client: client, account: nil)
        #expect(Self.query(first.url) == ["f[]=updated_on", "op[updated_on]=>=", "f[]=status_id", "op[status_id]=*", "limit=2", "offset=0"])
        // After a page ending in a clustered second: since is that second, the offset what was read in it.
        let t = "2026-11-10T04:41:30Z"
        let page = PageOutcome(items: [PageItem(id: "1", updatedAt: Timestamp.microseconds(rfc3339: t)), PageItem(id: "2", updatedAt: Timestamp.microseconds(rfc3339: t))], hasMore: true, elementCount: 2, total: 9)
        cursor = resource.machine.advance(cursor, page: page).cursor
        let second = try resource.request(for: cursor, client: client, account: nil)
        #expect(Self.query(second.url) == [
            "f[]=updated_on", "op[updated_on]=>=", "v[updated_on][]=\(t)", "f[]=status_id", "op[status_id]=*", "updated_on=>=\(t)", "limit=2", "offset=2",
        ])
    }

    @Test("initial is the cursor's own parameter on a run from an empty cursor, for every kind", arguments: [
        ("kind: timestamp, since: {param: from}, initial: \"2020-01-01T00:00:00Z\"", "updatedAt: {pointer: /t, format: rfc3339}\nnext: {link: next}", "from=2020-01-01T00:00:00Z"),
        ("kind: sync-token, since: {param: start_time}, syncToken: {param: cursor}, initial: \"0\"", "next: {syncToken: /s, token: /n}", "start_time=0"),
        ("kind: event-id, eventId: {param: starting_after}, initial: evt_0", "next: {hasMore: /more}", "starting_after=evt_0"),
        ("kind: page-token, pageToken: {param: page_token}, initial: first", "next: {token: /n}", "page_token=first"),
    ])
    func initialForEveryKind(cursor: String, rest: String, expected: String) throws {
        let resource = try Self.resource("path: /x\nitems: /items\nid: /id\ncursor: {\(cursor)}\n\(rest)")
        let request = try resource.request(for: resource.machine.begin(PollCursor(), now: Self.now), client: Self.client(resource), account: nil)
        #expect(Self.query(request.url).contains(expected), "\(request.url)")
    }

    @Test("a body template's values are JSON-escaped; after_json is null on the first page and a JSON string after")
    func bodyTemplate() throws {
        let resource = try Self.resource("""
            method: POST
            path: /graphql
            body: '{"query":"q","variables":{"after":{after_json},"raw":"{after}","n":{limit}}}'
            pageSize: {value: 50}
            items: /data/items/nodes
            id: /id
            cursor: {kind: page-token, pageToken: {}}
            next: {token: /data/items/pageInfo/endCursor, hasMore: /data/items/pageInfo/hasNextPage}
            """)
        let client = try Self.client(resource)
        var cursor = resource.machine.begin(PollCursor(), now: Self.now)
        let first = try resource.request(for: cursor, client: client, account: nil)
        #expect(String(decoding: first.body ?? [], as: UTF8.self) == #"{"query":"q","variables":{"after":null,"raw":"0","n":50}}"#)
        cursor = resource.machine.advance(cursor, page: PageOutcome(items: [PageItem(id: "a", updatedAt: nil)], hasMore: true, nextPageToken: #"c"\1"#)).cursor
        let second = try resource.request(for: cursor, client: client, account: nil)
        let body = String(decoding: second.body ?? [], as: UTF8.self)
        #expect(body == #"{"query":"q","variables":{"after":"c\"\\1","raw":"c\"\\1","n":50}}"#)
        #expect(JSONValue(parsing: second.body ?? []) != nil, "the body stays JSON whatever the token holds")
    }

    @Test("an ETag goes only with a request for the URL it answered")
    func etagTiedToURL() throws {
        let resource = try Self.resource("""
            path: /issues
            items: ""
            id: /id
            updatedAt: {pointer: /t, format: rfc3339}
            cursor: {kind: timestamp, since: {param: since}}
            next: {link: next}
            conditional: etag
            """)
        let client = try Self.client(resource)
        let start = resource.machine.begin(PollCursor(), now: Self.now)
        let url = try resource.request(for: start, client: client, account: nil).url
        var cursor = start
        cursor.etag = #"W/"abc""#
        cursor.etagURL = PollResource.etagKey(url)
        let same = try resource.request(for: cursor, client: client, account: nil)
        #expect(same.headers.contains { $0.name == "If-None-Match" && $0.value == #"W/"abc""# })
        // The watermark moved: another query, so the old validator says nothing about it.
        var moved = cursor
        moved.run = nil
        moved.watermark = Self.now
        let other = try resource.request(for: resource.machine.begin(moved, now: Self.now), client: client, account: nil)
        #expect(!other.headers.contains { $0.name == "If-None-Match" })
        // A cursor stored before ETags had URLs sends none.
        var legacy = cursor
        legacy.etagURL = nil
        #expect(try !resource.request(for: legacy, client: client, account: nil).headers.contains { $0.name == "If-None-Match" })
    }

    @Test("two states sharing a whole-second version get different event ids; an integer revision stays bare")
    func coarseVersions() throws {
        let timed = try Self.resource("path: /x\nitems: /items\nid: /id\nupdatedAt: {pointer: /t, format: rfc3339}\ncursor: {kind: timestamp, since: {param: s}}\nnext: {hasMore: /more}")
        let body = #"{"items":[{"id":1,"t":"2026-12-06T04:41:30Z","subject":"a"},{"id":1,"t":"2026-12-06T04:41:30Z","subject":"b"}],"more":false}"#
        let response = UpstreamResponse(status: 200, headers: [], body: Array(body.utf8))
        let page = try timed.parse(response, connection: "c", tenant: "t", requestedAt: 0, receivedAt: 0)
        let ids = page.drafts.map(\.eventId)
        #expect(ids.count == 2 && ids[0] != ids[1], "\(ids)")
        #expect(ids.allSatisfy { $0.hasPrefix("poll:item:1:1796532090000000.h") }, "\(ids)")
        #expect(page.drafts.allSatisfy { $0.record?.version == 1_796_532_090_000_000 })

        let counted = try Self.resource("path: /x\nitems: /items\nid: /id\nversion: {pointer: /v, format: integer}\ncursor: {kind: page-token, pageToken: {param: p}}\nnext: {token: /n}")
        let revision = try counted.parse(UpstreamResponse(status: 200, headers: [], body: Array(#"{"items":[{"id":1,"v":7}]}"#.utf8)), connection: "c", tenant: "t", requestedAt: 0, receivedAt: 0)
        #expect(revision.drafts.map(\.eventId) == ["poll:item:1:7"])
    }

    @Test("an incarnation pointer goes into the record and the event id: a reused id's version 1 is not the old record's version 1")
    func incarnation() throws {
        let resource = try Self.resource("path: /x\nitems: /items\nid: /id\nversion: {pointer: /v, format: integer}\nincarnation: {pointer: /created_on, format: rfc3339}\ncursor: {kind: page-token, pageToken: {param: p}}\nnext: {token: /n}")
        let body = #"{"items":[{"id":42,"v":1,"created_on":"2026-11-01T00:00:00Z"},{"id":42,"v":1,"created_on":"2026-12-01T00:00:00Z"}]}"#
        let page = try resource.parse(UpstreamResponse(status: 200, headers: [], body: Array(body.utf8)), connection: "c", tenant: "t", requestedAt: 0, receivedAt: 0)
        let first = try #require(Timestamp.microseconds(rfc3339: "2026-11-01T00:00:00Z"))
        let second = try #require(Timestamp.microseconds(rfc3339: "2026-12-01T00:00:00Z"))
        #expect(page.drafts.map(\.eventId) == ["poll:item:42:i\(first).1", "poll:item:42:i\(second).1"])
        #expect(page.drafts.map { $0.record?.incarnation } == [first, second])
    }

    @Test("a next token that is a path is fetched under the base URL only when nothing else carries it, never as another host")
    func pathTokens() throws {
        let resource = try Self.resource("path: /query\nquery: {q: \"SELECT Id FROM A WHERE T >= {since}\"}\nitems: /records\nid: /Id\nupdatedAt: {pointer: /T, format: rfc3339}\ncursor: {kind: timestamp, since: {format: rfc3339}, initial: \"1970-01-01T00:00:00Z\"}\nnext: {token: /nextRecordsUrl, endOfStream: /done}")
        let client = try Self.client(resource)
        let start = resource.machine.begin(PollCursor(), now: Self.now)
        var cursor = start
        cursor.run?.pageToken = "/query/01g-2000"
        #expect(try resource.request(for: cursor, client: client, account: nil).url == "https://api.example.test/query/01g-2000")
        // A network-path reference ("//host/...") is not a path: it is never followed, so no request leaves the API's host.
        cursor.run?.pageToken = "//evil.test/steal"
        let refused = try resource.request(for: cursor, client: client, account: nil).url
        #expect(URLComponents(string: refused)?.host == "api.example.test" && !refused.contains("evil"), "\(refused)")
        // With a parameter for it, a token that starts with "/" is an opaque value like any other.
        let tokened = try Self.resource("path: /x\nitems: /i\nid: /id\ncursor: {kind: page-token, pageToken: {param: p}}\nnext: {token: /n}")
        var opaque = tokened.machine.begin(PollCursor(), now: Self.now)
        opaque.run?.pageToken = "/abc"
        #expect(Self.query(try tokened.request(for: opaque, client: Self.client(tokened), account: nil).url) == ["p=/abc"])
    }

    @Test("{account} fills a query value with the connection's account")
    func accountPlaceholder() throws {
        let resource = try Self.resource("path: /search\nquery: {jql: \"project = {account} ORDER BY key\"}\nitems: /issues\nid: /id\ncursor: {kind: page-token}\nnext: {offset: {param: startAt}, total: /total}")
        let cursor = resource.machine.begin(PollCursor(), now: Self.now)
        #expect(Self.query(try resource.request(for: cursor, client: Self.client(resource), account: "OPS").url) == ["jql=project = OPS ORDER BY key", "startAt=0"])
    }

    @Test("hostile resources are refused with the path of what is wrong", arguments: [
        ("path: /x\nitems: /i\nid: /id\nquery: [{name: a, value: \"{sinse}\"}]\ncursor: {kind: page-token, pageToken: {param: p}}\nnext: {token: /n}", "/poll/resources/0/query/0/value", "unknown placeholder {sinse}"),
        ("path: /x\nitems: /i\nid: /id\nmethod: POST\nbody: '{\"a\":{nope}}'\ncursor: {kind: page-token, pageToken: {param: p}}\nnext: {token: /n}", "/poll/resources/0/body", "unknown placeholder {nope}"),
        ("path: /x\nitems: /i\nid: /id\nupdatedAt: {pointer: /t, format: rfc3339}\ncursor: {kind: timestamp, since: {format: rfc3339}}\nnext: {link: next}", "/poll/resources/0/cursor/since", "no param"),
        ("path: /x\nitems: /i\nid: /id\nupdatedAt: {pointer: /t, format: rfc3339}\ncursor: {kind: timestamp, since: {param: s}, afterId: {}}\nnext: {hasMore: /m}", "/poll/resources/0/cursor/afterId", "{after_id}"),
        ("path: /x\nitems: /i\nid: /id\ncursor: {kind: page-token}\nnext: {offset: {}}", "/poll/resources/0/next/offset", "{offset}"),
        ("path: /x\nitems: /i\nid: /id\ncursor: {kind: page-token, pageToken: {param: p}}\nnext: {token: /n, total: /total}", "/poll/resources/0/next/total", "needs offset paging"),
        ("path: /x\nitems: /i\nid: /id\nupdatedAt: {pointer: /t, format: rfc3339}\ncursor: {kind: timestamp, since: {param: s}, afterId: {param: a}}\nnext: {offset: {param: o}}", "/poll/resources/0/next/offset", "exclude each other"),
        ("path: /x\nitems: /i\nid: /id\nupdatedAt: {pointer: /t, format: rfc3339}\ncursor: {kind: timestamp, since: {param: s}}\nnext: {offset: {param: page, unit: pages}}", "/poll/resources/0/next/offset/unit", "page numbers"),
        ("path: /x\nitems: /i\nid: /id\ncursor: {kind: event-id, eventId: {param: e}}\nnext: {offset: {param: o}}", "/poll/resources/0/next/offset", "timestamp and page-token"),
        ("path: /x\nitems: /i\nid: /id\ncursor: {kind: page-token}\nnext: {offset: {param: o, first: 7}}", "/poll/resources/0/next/offset/first", ""),
        ("path: /x\nitems: /i\nid: /id\ncursor: {kind: page-token}\nnext: {offset: {param: o, unit: rows}}", "/poll/resources/0/next/offset/unit", ""),
        ("path: /x\nitems: /i\nid: /id\nquery: [{name: a}]\ncursor: {kind: page-token}\nnext: {offset: {param: o}}", "/poll/resources/0/query", ""),
        ("path: /x\nitems: /i\nid: /id\nquery: [{name: \"\", value: x}]\ncursor: {kind: page-token}\nnext: {offset: {param: o}}", "/poll/resources/0/query", ""),
        ("path: /x\nitems: /i\nid: /id\nquery: \"a=b\"\ncursor: {kind: page-token}\nnext: {offset: {param: o}}", "/poll/resources/0/query", ""),
    ])
    func hostileResources(lines: String, path: String, reason: String) throws {
        switch try Self.compile(Self.manifest(lines)) {
        case .success: Issue.record("accepted: \(lines)")
        case .failure(let failure):
            #expect(failure.errors.contains { $0.path.hasPrefix(path) && (reason.isEmpty || $0.reason.contains(reason)) }, "\(failure)")
        }
    }

    @Test("placeholder parsing: known names only, anything else is literal text", arguments: [
        ("{since}", ["since"]), (#"{"a":{limit}}"#, ["limit"]), ("{ since }", []), ("{}", []), ("{{offset}}", ["offset"]),
        ("x{since", []), ("{SINCE}", []), ("", []), ("{after_json}{after_json}", ["after_json"]),
    ])
    func placeholders(text: String, names: [String]) throws {
        let template = try ValueTemplate.parse(text).get()
        #expect(template.placeholders == Set(names))
        #expect(template.render(["since": "S", "limit": "9", "offset": "3", "after_json": "null"]) != nil)
    }
}
