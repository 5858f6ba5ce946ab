import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import Testing
import TributaryCore
import TributaryIntake
import TributaryRuntime
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting

/// Intake's deliberate answers beyond the happy path, against the live server.
@Suite("Intake")
struct IntakeTests {
    static let secret = "intake-secret"

    static func withEngine(
        intake: IntakeConfiguration = IntakeConfiguration(publicBaseURL: TestEngine.publicURL),
        _ body: @escaping @Sendable (Engine, any TestClientProtocol, URL) async throws -> Void
    ) async throws {
        let directory = try TestPaths.temporaryDirectory("intake")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Engine(configuration: TestEngine.configuration(directory: directory, intake: intake))
        _ = try await engine.store.addConnection(id: "gh1", provider: "github", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: [secret], now: 0)
        try await TestEngine.live(engine) { client in try await body(engine, client, directory) }
    }

    static func signed(_ n: Int, delivery: String? = nil) -> ([String: String], String) {
        let body = Signer.issueBody(n)
        return (Signer.github(body: body, secret: secret, delivery: delivery ?? "d-\(n)"), body)
    }

    @Test("unknown provider, unknown connection, or a connection of another provider: 404")
    func notFound() async throws {
        try await Self.withEngine { engine, client, _ async throws in
            let (headers, body) = Self.signed(1)
            #expect(try await client.send("/webhooks/nope/gh1", headers: headers, body: body).status == .notFound)
            #expect(try await client.send("/webhooks/github/nope", headers: headers, body: body).status == .notFound)
            #expect(try await client.send("/webhooks/stripe/gh1", headers: headers, body: body).status == .notFound)
            #expect(try await engine.store.events(EventFilter()).isEmpty)
        }
    }

    @Test("a body over the limit is 413, whether declared or streamed, and stores nothing")
    func tooLarge() async throws {
        try await Self.withEngine(intake: IntakeConfiguration(maxBodyBytes: 256, publicBaseURL: TestEngine.publicURL)) { engine, client, _ async throws in
            let body = String(repeating: "x", count: 300)
            let headers = Signer.github(body: body, secret: Self.secret, delivery: "big")
            #expect(try await client.send("/webhooks/github/gh1", headers: headers, body: body).status == .contentTooLarge)
            let chunked = try await RawHTTP.sendAndRead(port: try #require(client.port), bytes: Array((
                "POST /webhooks/github/gh1 HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
                + headers.map { "\($0.key): \($0.value)\r\n" }.joined() + "\r\n"
                + String(300, radix: 16) + "\r\n" + body + "\r\n0\r\n\r\n").utf8))
            #expect(chunked.hasPrefix("HTTP/1.1 413"), "streamed oversized body answered: \(chunked.prefix(40))")
            #expect(try await engine.store.events(EventFilter()).isEmpty)
        }
    }

    @Test("a stalled body is cut off after the body timeout and stores nothing")
    func stalledBody() async throws {
        try await Self.withEngine(intake: IntakeConfiguration(bodyTimeout: .seconds(1), publicBaseURL: TestEngine.publicURL)) { engine, client, _ async throws in
            let (headers, body) = Self.signed(2)
            let head = "POST /webhooks/github/gh1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(body.utf8.count)\r\n"
                + headers.map { "\($0.key): \($0.value)\r\n" }.joined() + "\r\n"
            // Half the body, then silence: the server must end the exchange itself (the read waits up to 30 s).
            let answer = try await RawHTTP.sendAndRead(port: try #require(client.port), bytes: Array((head + body.prefix(10)).utf8))
            #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 408"), "stalled body answered: \(answer.prefix(40))")
            #expect(try await engine.store.events(EventFilter()).isEmpty)
        }
    }

    @Test("a body still arriving past its deadline is answered 408 and stores nothing")
    func lateBody() async throws {
        try await Self.withEngine(intake: IntakeConfiguration(bodyTimeout: .zero, publicBaseURL: TestEngine.publicURL)) { engine, client, _ async throws in
            let (headers, body) = Self.signed(5)
            let request = "POST /webhooks/github/gh1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(body.utf8.count)\r\n"
                + headers.map { "\($0.key): \($0.value)\r\n" }.joined() + "\r\n" + body
            // Written in one send right after connecting (a body timeout of zero also makes the keep-alive
            // idle timeout its 1 s floor: a client that connects, then waits on a loaded machine, is cut off first).
            let answer = try await RawHTTP.sendAndRead(port: try #require(client.port), bytes: Array(request.utf8))
            #expect(answer.hasPrefix("HTTP/1.1 408"), "late body answered: \(answer.prefix(40))")
            #expect(try await engine.store.events(EventFilter()).isEmpty)
        }
    }

    @Test("when the store cannot commit the answer is 503 with Retry-After, never 2xx")
    func storeUnavailable() async throws {
        try await Self.withEngine { engine, client, directory in
            var configuration = Configuration()
            configuration.allowsUnsafeTransactions = true
            let blocker = try DatabaseQueue(path: directory.appendingPathComponent("tributary.db").path, configuration: configuration)
            try await blocker.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
            let (headers, body) = Self.signed(3)
            let response = try await client.send("/webhooks/github/gh1", headers: headers, body: body)
            try await blocker.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] != nil)
            // The provider's retry then lands, exactly once.
            let retry = try await client.send("/webhooks/github/gh1", headers: headers, body: body)
            #expect(retry.status == .ok)
            #expect(retry.json?["duplicate"] == .bool(false))
            #expect(try await engine.store.events(EventFilter()).count == 1)
        }
    }

    @Test("a verified delivery whose event id cannot be found is kept quarantined and answered 2xx; its retry dedupes")
    func unreadable() async throws {
        try await Self.withEngine { engine, client, _ async throws in
            var (headers, body) = Self.signed(4)
            headers["X-GitHub-Delivery"] = nil
            let response = try await client.send("/webhooks/github/gh1", headers: headers, body: body)
            #expect(response.status == .ok)
            #expect(response.json?["quarantined"] == .bool(true))
            let events = try await engine.store.events(EventFilter())
            #expect(events.count == 1)
            #expect(events.first?.status == .quarantined)
            #expect(events.first?.reason?.contains("event id not found") == true)
            #expect(events.first?.body == Array(body.utf8))
            let retry = try await client.send("/webhooks/github/gh1", headers: headers, body: body)
            #expect(retry.json?["duplicate"] == .bool(true))
            #expect(try await engine.store.events(EventFilter()).count == 1)
        }
    }

    @Test("the manifest maps the record; a Shopify id beyond 2^53 is kept exactly")
    func extraction() async throws {
        let vector = try Vector.load("shopify")
        let directory = try TestPaths.temporaryDirectory("extract")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Engine(configuration: TestEngine.configuration(directory: directory, now: vector.timestamp * 1_000_000))
        _ = try await engine.store.addConnection(id: vector.connectionID, provider: "shopify", tenant: "t", account: nil, toleranceSeconds: nil, webhookSecrets: [vector.secret], now: 0)
        try await TestEngine.live(engine) { client async throws in
            #expect(try await client.send(Vector.pathAndQuery(vector.url), headers: vector.headers, body: vector.body).status == .ok)
        }
        let event = try #require(try await engine.store.events(EventFilter()).first)
        #expect(event.recordType == "order")
        #expect(event.recordId == "820982911946154508")
        #expect(event.type == "orders/updated")
        #expect(event.version == Timestamp.microseconds(rfc3339: "2026-11-20T10:00:00-05:00"))
        #expect(event.eventId == vector.headers["X-Shopify-Event-Id"])
    }

    @Test("a GitLab token is not kept in the stored headers")
    func tokenNotStored() async throws {
        let vector = try Vector.load("gitlab")
        let directory = try TestPaths.temporaryDirectory("token")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Engine(configuration: TestEngine.configuration(directory: directory))
        _ = try await engine.store.addConnection(id: vector.connectionID, provider: "gitlab", tenant: "t", account: nil, toleranceSeconds: nil, webhookSecrets: [vector.secret], now: 0)
        try await TestEngine.live(engine) { client async throws in
            #expect(try await client.send(Vector.pathAndQuery(vector.url), headers: vector.headers, body: vector.body).status == .ok)
        }
        let event = try #require(try await engine.store.events(EventFilter()).first)
        #expect(!event.headers.isEmpty)
        #expect(!event.headers.contains { $0.last == vector.secret }, "the GitLab token was stored in clear")
    }

    @Test("healthz and readyz")
    func health() async throws {
        try await Self.withEngine { _, client, _ async throws in
            #expect(try await client.send("/healthz", method: .get, headers: [:], body: "").status == .ok)
            #expect(try await client.send("/readyz", method: .get, headers: [:], body: "").status == .ok)
        }
    }
}
