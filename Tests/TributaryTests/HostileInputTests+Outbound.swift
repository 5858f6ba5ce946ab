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
import TributaryScheduling
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
            limiter: RateLimiter(budget: RateLimitBudget(capacity: 100, refillPerSecond: 100, now: now * 1_000_000), clock: EngineClock.system.reading { now * 1_000_000 }),
            api: api, baseURL: base, token: "secret-token", account: nil, maxAttempts: 1, clock: EngineClock.system.reading { now * 1_000_000 }
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
}
