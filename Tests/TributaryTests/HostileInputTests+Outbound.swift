import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import TributaryCore
import TributaryPolling
import TributaryProviders
import TributaryRuntime
import TributaryStore
import TributaryTesting
import TributaryUpstream

/// Issue 9: every finding of the hostile review, as a row that states what is answered, what is
/// stored, and that the process is still serving afterwards.

// Hostile input, continued: outbound calls, looping cursors, manifests and secrets at rest.
extension HostileInputTests {
    // MARK: outbound: redirects, the SSRF guard, {account}

    /// What reached a test server: `path authorization` per request.
    final class Hits: Sendable {
        let list = Mutex<[String]>([])
        var all: [String] { list.withLock { $0 } }
    }

    /// A loopback server that counts what reaches it, and answers what `respond` says.
    static func withServer(
        _ respond: @escaping @Sendable (Request) -> Response,
        _ body: @escaping @Sendable (_ port: Int, _ hits: Hits) async throws -> Void
    ) async throws {
        let hits = Hits()
        let router = Router()
        for path in ["/away", "/moved", "/here", "/stolen", "/records"] {
            router.get(RouterPath(path)) { request, _ in
                hits.list.withLock { $0.append("\(request.uri.path) \(request.headers[.authorization] ?? "-")") }
                return respond(request)
            }
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in try await body(try #require(client.port), hits) }
    }

    /// GitHub's API client (bearer auth), aimed at `base`.
    static func client(base: String, outboundGuard: OutboundGuard) throws -> UpstreamClient {
        let api = try #require(try ManifestCatalog.load(directory: TestPaths.providers).providers["github"]?.manifest.api)
        return UpstreamClient(
            transport: HTTPTransport(outboundGuard: outboundGuard, timeoutSeconds: 5),
            limiter: RateLimiter(budget: RateLimitBudget(capacity: 100, refillPerSecond: 100, now: now * 1_000_000), now: { now * 1_000_000 }),
            api: api, baseURL: base, token: "secret-token", account: nil, maxAttempts: 1, now: { now * 1_000_000 }
        )
    }

    @Test("a redirect to another origin is refused and the token never reaches it; one within the origin is followed")
    func redirects() async throws {
        try await Self.withServer({ _ in Response(status: .ok, body: .init(byteBuffer: .init(string: "{}"))) }) { otherPort, otherHits in
            try await Self.withServer({ request in
                if request.uri.path == "/away" {
                    return Response(status: .found, headers: [.location: "http://127.0.0.1:\(otherPort)/stolen"])
                }
                if request.uri.path == "/moved" { return Response(status: .movedPermanently, headers: [.location: "/here"]) }
                return Response(status: .ok, body: .init(byteBuffer: .init(string: #"{"ok":true}"#)))
            }) { apiPort, apiHits in
                let base = "http://127.0.0.1:\(apiPort)"
                let client = try Self.client(base: base, outboundGuard: OutboundGuard(allowPrivate: true))
                let logger = Logger(label: "hostile")
                await #expect(throws: UpstreamError.self) {
                    _ = try await client.send(UpstreamRequest(url: base + "/away"), priority: .incrementalPoll, logger: logger)
                }
                #expect(otherHits.all.isEmpty, "the other origin was reached: \(otherHits.all)")
                let followed = try await client.send(UpstreamRequest(url: base + "/moved"), priority: .incrementalPoll, logger: logger)
                #expect(followed.status == 200)
                #expect(apiHits.all.map { $0.split(separator: " ").first.map(String.init) ?? "" } == ["/away", "/moved", "/here"])
                #expect(apiHits.all.allSatisfy { $0.hasSuffix("Bearer secret-token") })
            }
        }
    }

    struct GuardRow: Sendable, CustomStringConvertible {
        var name: String
        var answers: [[UInt8]]
        var allowPrivate: Bool
        var description: String { name }
    }

    static let guardRows: [GuardRow] = [
        GuardRow(name: "private 10/8", answers: [[10, 0, 0, 1]], allowPrivate: false),
        GuardRow(name: "cloud metadata 169.254.169.254", answers: [[169, 254, 169, 254]], allowPrivate: false),
        GuardRow(name: "link-local even when private is allowed", answers: [[169, 254, 169, 254]], allowPrivate: true),
        GuardRow(name: "loopback without the setting", answers: [[127, 0, 0, 1]], allowPrivate: false),
        GuardRow(name: "unspecified 0.0.0.0", answers: [[0, 0, 0, 0]], allowPrivate: true),
        GuardRow(name: "multicast", answers: [[224, 0, 0, 1]], allowPrivate: true),
        GuardRow(name: "one public and one private answer", answers: [[93, 184, 216, 34], [192, 168, 1, 1]], allowPrivate: false),
        GuardRow(name: "IPv6 loopback", answers: [Array(repeating: 0, count: 15) + [1]], allowPrivate: false),
        GuardRow(name: "IPv4-mapped private", answers: [Array(repeating: 0, count: 10) + [0xff, 0xff, 10, 1, 2, 3]], allowPrivate: false),
        GuardRow(name: "IPv6 unique local", answers: [[0xfd] + Array(repeating: 0, count: 15)], allowPrivate: false),
        GuardRow(name: "IPv6 link-local", answers: [[0xfe, 0x80] + Array(repeating: 0, count: 14)], allowPrivate: true),
    ]

    @Test("the SSRF guard refuses, before any connection, a host resolving to an address it must not reach", arguments: guardRows)
    func ssrfGuard(row: GuardRow) async throws {
        // The name resolves (by the injected resolver) to the row's addresses; the URL's port is a live
        // loopback server that counts connections, which must stay at zero.
        try await Self.withServer({ _ in Response(status: .ok) }) { port, hits in
            let outboundGuard = OutboundGuard(allowPrivate: row.allowPrivate) { _ in row.answers }
            let base = "http://api.provider.test:\(port)"
            let client = try Self.client(base: base, outboundGuard: outboundGuard)
            do {
                _ = try await client.send(UpstreamRequest(url: base + "/records"), priority: .incrementalPoll, logger: Logger(label: "hostile"))
                Issue.record("the request was not refused")
            } catch let error as UpstreamError {
                #expect(error.refused)
                #expect(error.description.contains("refusing to connect to api.provider.test"), "\(error)")
                #expect(!error.description.contains("secret-token"))
            }
            #expect(hits.all.isEmpty)
        }
        #expect(OutboundGuard.classify([8, 8, 8, 8]) == .global)
    }

    @Test("{account} is checked for where it goes: a host name in a host, encoded segments in a path")
    func accountTemplates() throws {
        for hostile in ["evil.com#", "evil.com/x", "user@evil.com", "a b", "", "-x", "x:1"] {
            #expect(throws: ManifestError.self, "\(hostile)") { try URLTemplate.fillBaseURL("https://{account}/", account: hostile).get() }
        }
        #expect(try URLTemplate.fillBaseURL("https://{account}/", account: "acme.myshopify.com").get() == "https://acme.myshopify.com/")
        #expect(try URLTemplate.fillBaseURL("https://{account}.zendesk.com", account: "acme").get() == "https://acme.zendesk.com")
        #expect(try URLTemplate.fillPath("/repos/{account}/issues", account: "octo/hello").get() == "/repos/octo/hello/issues")
        #expect(try URLTemplate.fillPath("/repos/{account}/issues", account: "a?b#c").get() == "/repos/a%3Fb%23c/issues")
        for hostile in ["../admin", "octo/..", "a//b", ""] {
            #expect(throws: ManifestError.self, "\(hostile)") { try URLTemplate.fillPath("/repos/{account}/issues", account: hostile).get() }
        }
    }

    // MARK: cursors that loop

    /// Answers every request with a Zendesk page whose next cursor is always `A` (the tickets differ,
    /// so only the repeated request can tell).
    final class SameCursor: UpstreamTransport {
        let count = Mutex(0)
        func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
            let n = count.withLock { $0 += 1; return $0 }
            let body = #"{"tickets":[{"id":\#(n),"updated_at":"2026-11-20T10:00:00Z","status":"open"}],"after_cursor":"A","end_of_stream":false}"#
            return UpstreamResponse(status: 200, headers: [], body: Array(body.utf8))
        }
    }

    /// Answers every request with the same tickets, under a next cursor that changes on every call.
    final class ChangingCursor: UpstreamTransport {
        let count = Mutex(0)
        func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
            let n = count.withLock { $0 += 1; return $0 }
            let body = #"{"tickets":[{"id":1,"updated_at":"2026-11-20T10:00:00Z","status":"open"}],"after_cursor":"A\#(n)","end_of_stream":false}"#
            return UpstreamResponse(status: 200, headers: [], body: Array(body.utf8))
        }
    }

    @Test("a page token that leads back to itself stops the run with an anomaly, after one repeat at most")
    func cursorLoop() async throws {
        let transport = SameCursor()
        let (report, _, _, state) = try await Self.pollOnce(provider: "zendesk", account: "acme", transport: transport)
        #expect(transport.count.withLock { $0 } == 2, "the identical request was sent again")
        #expect(report.anomalies.contains(.repeatedRequest))
        #expect(state.lastAnomaly?.contains("repeatedRequest") == true, "\(state.lastAnomaly ?? "none")")
        #expect(state.cursor.run == nil, "the next run would resume at the looping page at once")

        let changing = ChangingCursor()
        let (again, _, _, _) = try await Self.pollOnce(provider: "zendesk", account: "acme", transport: changing)
        #expect(changing.count.withLock { $0 } == 2, "pages repeating the same items were asked for again")
        #expect(again.anomalies.contains(.repeatedPage))
        let machine = CursorMachine(kind: .syncToken, pageSize: 2)
        let stalled = machine.advance(PollCursor(syncToken: "S"), page: PageOutcome(items: [PageItem(id: "1", updatedAt: nil), PageItem(id: "2", updatedAt: nil)], hasMore: false, syncToken: "S"))
        #expect(stalled.anomalies == [.syncTokenStalled])
    }

    // MARK: manifests, secrets at rest, removal

    @Test("a manifest integer out of range is a path-precise validation error, exit 2, not a trap")
    func manifestBounds() throws {
        try Self.expectInvalid("github", [
            ("lookback: 1", "lookback: 9223372036854775807", "/poll/resources/0/cursor/lookback"),
            ("lookback: 1", "lookback: 99999999999999999999999", "/poll/resources/0/cursor/lookback"),
            ("interval: 300", "interval: 0", "/poll/resources/0/interval"),
            ("interval: 300", "interval: 99999999999", "/poll/resources/0/interval"),
        ])
    }

    @Test("api.fetch is compiled at load: a pointer that is not a JSON Pointer is a path-precise validation error, exit 2")
    func fetchPointers() throws {
        try Self.expectInvalid("hubspot", [
            ("    state: \"\"\n    version: {pointer: /updatedAt", "    state: \"updatedAt\"\n    version: {pointer: /updatedAt", "/api/fetch/state"),
            ("    version: {pointer: /updatedAt, format: rfc3339}\n    gone", "    version: {pointer: updatedAt, format: rfc3339}\n    gone", "/api/fetch/version/pointer"),
        ])
    }

    /// For each case, `provider`'s manifest with `needle` replaced must fail `providers validate`
    /// with exit 2 and an error at `path` in that file.
    static func expectInvalid(_ provider: String, _ cases: [(needle: String, replacement: String, path: String)]) throws {
        let directory = try TestPaths.temporaryDirectory("hostile-manifest")
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try String(contentsOfFile: TestPaths.providers + "/\(provider).yaml", encoding: .utf8)
        for (needle, replacement, path) in cases {
            let broken = original.replacingOccurrences(of: needle, with: replacement)
            try #require(broken != original, "\(provider).yaml has no \(needle)")
            let file = directory.appendingPathComponent("\(provider).yaml").path
            try broken.write(toFile: file, atomically: true, encoding: .utf8)
            let result = try CLITests.run(["providers", "validate", file], in: directory)
            #expect(result.status == 2, "\(replacement): \(result.stderr)")
            #expect(result.stderr.contains("\(file): \(path)"), "\(replacement): \(result.stderr)")
        }
    }

    @Test("secrets: the database files are 0600, secrets come from a file or stdin, events show redacts clientState")
    func secrets() async throws {
        let directory = try TestPaths.temporaryDirectory("hostile-secrets")
        defer { try? FileManager.default.removeItem(at: directory) }
        let legacy = directory.appendingPathComponent("legacy.db").path
        _ = FileManager.default.createFile(atPath: legacy, contents: nil, attributes: [.posixPermissions: 0o644])
        _ = try Store(path: legacy, masterKey: StoreTests.key, logger: Logger(label: "hostile"))
        #expect(try FileManager.default.attributesOfItem(atPath: legacy)[.posixPermissions] as? Int == 0o600, "an older 0644 database stayed readable")
        let secretFile = directory.appendingPathComponent("secret").path
        try "from-a-file\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        let add = try CLITests.run(["connections", "add", "--provider", "github", "--tenant", "acme", "--id", "g1", "--webhook-secret", "@" + secretFile], in: directory)
        #expect(add.status == 0, "\(add.stderr)")
        let database = directory.appendingPathComponent("cli.db").path
        for file in [database, database + "-wal", database + "-shm"] where FileManager.default.fileExists(atPath: file) {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file) is \(String(mode ?? 0, radix: 8))")
        }
        let missing = try CLITests.run(["connections", "add", "--provider", "github", "--tenant", "acme", "--webhook-secret", "@/nonexistent/file"], in: directory)
        #expect(missing.status == 2 && missing.stderr.contains("--webhook-secret @/nonexistent/file"), "\(missing.stderr)")
        let empty = try CLITests.run(["connections", "add", "--provider", "standard-webhooks", "--tenant", "acme", "--webhook-secret", "whsec_"], in: directory)
        #expect(empty.status == 2 && empty.stderr.contains("--webhook-secret"), "\(empty.stderr)")
        let badAccount = try CLITests.run(["connections", "add", "--provider", "shopify", "--tenant", "acme", "--account", "evil.com#"], in: directory)
        #expect(badAccount.status == 2 && badAccount.stderr.contains("--account"), "\(badAccount.stderr)")

        var logger = Logger(label: "hostile")
        logger.logLevel = .critical
        let store = try Store(path: database, masterKey: nil, logger: logger)
        let stored = try #require(try await store.connection(id: "g1"))
        #expect(stored.webhookSecrets == ["from-a-file"])
        _ = try await store.addConnection(id: "m1", provider: "microsoft-graph", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [Self.graphState], now: 0)
        let notification = #"{"value":[{"clientState":"\#(Self.graphState)","changeType":"updated","resourceData":{"id":"u1"}}]}"#
        let appended = try await store.append(EventDraft(
            connection: "m1", tenant: "acme", provider: "microsoft-graph", source: .webhook, eventId: "e1", type: "updated",
            record: nil, occurredAt: nil, receivedAt: 0, headers: [], body: Array(notification.utf8), url: nil
        ))
        let show = try CLITests.run(["events", "show", String(appended.seq)], in: directory)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(!show.stdout.contains(Self.graphState), "events show printed the clientState")
        #expect(show.stdout.contains("[redacted]"))
    }

    @Test("connections remove refuses while events remain; --purge removes them all, and the id is reusable cleanly")
    func removePurge() async throws {
        let directory = try TestPaths.temporaryDirectory("hostile-remove")
        defer { try? FileManager.default.removeItem(at: directory) }
        var logger = Logger(label: "hostile")
        logger.logLevel = .critical
        let store = try Store(path: directory.appendingPathComponent("cli.db").path, masterKey: nil, logger: logger)
        _ = try await store.addConnection(id: "c1", provider: "github", tenant: "old", account: nil, toleranceSeconds: nil, webhookSecrets: ["s"], now: 0)
        let draft = EventDraft(connection: "c1", tenant: "old", provider: "github", source: .webhook, eventId: "d-1", type: "issues",
                               record: RecordRef(recordType: "issue", recordId: "1", version: 1, deleted: false, fullState: true),
                               occurredAt: nil, receivedAt: 0, headers: [], body: Array(#"{"id":1}"#.utf8), url: nil)
        #expect(try await store.append(draft).duplicate == false)
        _ = try await store.applyPendingEvents(now: 1) { _, _, body in body }

        let refused = try CLITests.run(["connections", "remove", "c1"], in: directory)
        #expect(refused.status == 2 && refused.stderr.contains("--purge"), "\(refused.stderr)")
        #expect(try await store.connection(id: "c1") != nil)
        let purged = try CLITests.run(["connections", "remove", "c1", "--purge"], in: directory)
        #expect(purged.status == 0, "\(purged.stderr)")
        #expect(purged.stdout.contains("1 event(s) and 1 record(s)"), "\(purged.stdout)")

        // Nothing can be stored under a removed id: intake may have looked the connection up just before the purge.
        await #expect(throws: StoreError.self) { _ = try await store.append(draft) }
        _ = try await store.addConnection(id: "c1", provider: "github", tenant: "new", account: nil, toleranceSeconds: nil, webhookSecrets: ["s"], now: 2)
        var again = draft
        again.tenant = "new"
        #expect(try await store.append(again).duplicate == false, "the old event id still counts as a duplicate")
        #expect(try await store.records(connection: "c1").isEmpty, "the old tenant's record survived")
    }
}
