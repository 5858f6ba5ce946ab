import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import TributaryAPI
import TributaryCore
import TributaryIntegrationTesting
import TributaryRuntime
import TributaryStore

// The API, continued: managing destinations and deliveries through /v1, as `destinations` and `deliveries` do.
extension APITests {
    static func send(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, _ body: String = "") async throws -> SentResponse {
        try await client.send(path, method: method, headers: auth, body: body)
    }

    @Test("POST /v1/destinations adds a destination whose secret is shown once; pause, resume, rotate, replay, retry and DELETE act on it")
    func destinationLifecycle() async throws {
        try await Self.withAPI { engine, client in
            let created = try await Self.send(client, .post, "/v1/destinations", #"""
                {"id": "crm", "url": "https://app.example.com/hooks/tributary", "tenant": "acme", "types": ["record.changed", "event.received"], "record_types": ["issue"]}
                """#)
            #expect(created.status == .created, "\(created.bodyText)")
            let secret = try #require(created.json?["secret"]?.stringValue)
            #expect(secret.hasPrefix("whsec_") && secret.count > 30, "secret \(secret) is not a whsec_ secret")
            let stored = try #require(try await engine.store.destination(id: "crm"))
            #expect(stored.url == "https://app.example.com/hooks/tributary" && stored.tenant == "acme" && stored.kinds == [.recordChanged, .eventReceived])
            #expect(stored.recordTypes == ["issue"] && stored.state == .active && stored.secretFingerprints.count == 1)
            // The secret is in that answer only.
            let shown = try await Self.send(client, .get, "/v1/destinations/crm")
            #expect(shown.status == .ok && !shown.bodyText.contains(secret) && shown.json?["id"]?.stringValue == "crm")
            #expect(!(try await Self.send(client, .get, "/v1/destinations")).bodyText.contains(secret))

            let paused = try await Self.send(client, .post, "/v1/destinations/crm/pause")
            #expect(paused.status == .ok && paused.json?["state"]?.stringValue == "paused", "\(paused.bodyText)")
            #expect(try await engine.store.destination(id: "crm")?.state == .paused)
            let resumed = try await Self.send(client, .post, "/v1/destinations/crm/resume", "{}")
            #expect(resumed.status == .ok && resumed.json?["state"]?.stringValue == "active", "\(resumed.bodyText)")

            let rotated = try await Self.send(client, .post, "/v1/destinations/crm/rotate-secret")
            let second = try #require(rotated.json?["secret"]?.stringValue, "\(rotated.bodyText)")
            #expect(second != secret && second.hasPrefix("whsec_"))
            #expect(try await engine.store.destination(id: "crm")?.secretFingerprints.count == 2, "old and new secret both sign during a rotation")
            let retired = try await Self.send(client, .post, "/v1/destinations/crm/rotate-secret", #"{"retire_old": true}"#)
            #expect(retired.status == .ok && retired.json?["secret"] == .null, "\(retired.bodyText)")
            #expect(try await engine.store.destination(id: "crm")?.secretFingerprints.count == 1)

            // The seed wrote four records; "app" takes every record.changed, so a replay from the start queues all four.
            let pendingBefore = try await engine.store.deliveries(destination: "app", status: .pending, limit: 100).count
            let replayed = try await Self.send(client, .post, "/v1/destinations/app/replay", #"{"after_seq": 0}"#)
            #expect(replayed.status == .ok && replayed.json?["queued"]?.int64Value == 4, "\(replayed.bodyText)")
            #expect(try await engine.store.deliveries(destination: "app", status: .pending, limit: 100).count == pendingBefore + 4)
            let retried = try await Self.send(client, .post, "/v1/deliveries/retry", #"{"destination": "app"}"#)
            #expect(retried.status == .ok && retried.json?["queued"]?.int64Value == 0, "nothing is dead, so nothing is retried: \(retried.bodyText)")

            let removed = try await Self.send(client, .delete, "/v1/destinations/crm")
            #expect(removed.status == .ok && removed.json?["removed"] == .bool(true), "\(removed.bodyText)")
            #expect(try await engine.store.destination(id: "crm") == nil)
            #expect((try await Self.send(client, .get, "/v1/destinations/crm")).status == .notFound)
        }
    }

    @Test("hostile bodies and ids for the write routes: each a 4xx naming the fault, and nothing changed", arguments: [
        // (method, path, body, status, a word the error must hold)
        ("POST", "/v1/destinations", "", 400, "url"),
        ("POST", "/v1/destinations", "not json", 400, "JSON object"),
        ("POST", "/v1/destinations", #"["https://a.example"]"#, 400, "JSON object"),
        ("POST", "/v1/destinations", #"{"url": 7}"#, 400, "url must be a string"),
        ("POST", "/v1/destinations", #"{"url": "http://169.254.169.254/latest/meta-data"}"#, 400, "link-local"),
        ("POST", "/v1/destinations", #"{"url": "http://[fe80::1%25eth0]/x"}"#, 400, "link-local"),
        ("POST", "/v1/destinations", #"{"url": "http://0xA9.254.169.254/"}"#, 400, "link-local"),
        ("POST", "/v1/destinations", #"{"url": "https://10.0.0.1/hook"}"#, 400, "private"),
        ("POST", "/v1/destinations", #"{"url": "http://127.0.0.1:9/hook"}"#, 400, "loopback"),
        ("POST", "/v1/destinations", #"{"url": "http://[::ffff:10.1.2.3]/hook"}"#, 400, "private"),
        ("POST", "/v1/destinations", #"{"url": "ftp://app.example.com/x"}"#, 400, "http(s)"),
        ("POST", "/v1/destinations", #"{"url": "https://user:pw@app.example.com/x"}"#, 400, "credentials"),
        ("POST", "/v1/destinations", #"{"url": "https://app.example.com/x", "record_type": "issue"}"#, 400, "record_type"),
        ("POST", "/v1/destinations", #"{"url": "https://app.example.com/x", "types": ["record.deleted"]}"#, 400, "record.deleted"),
        ("POST", "/v1/destinations", #"{"url": "https://app.example.com/x", "types": []}"#, 400, "types"),
        ("POST", "/v1/destinations", #"{"url": "https://app.example.com/x", "types": "record.changed"}"#, 400, "array"),
        ("POST", "/v1/destinations", #"{"url": "https://app.example.com/x", "id": "../../etc"}"#, 400, "destination id"),
        ("POST", "/v1/destinations", #"{"url": "https://app.example.com/x", "id": "app"}"#, 409, "already exists"),
        ("POST", "/v1/destinations", #"{"url": "https://app.example.com/x", "connection": "nope"}"#, 400, "no connection nope"),
        ("POST", "/v1/destinations", #"{"url": "https://app.example.com/x", "pad": ""# + String(repeating: "a", count: 70_000) + #""}"#, 413, "64 KB"),
        ("POST", "/v1/destinations/nope/pause", "", 404, "no destination nope"),
        ("POST", "/v1/destinations/app/pause", #"{"why": "x"}"#, 400, "why"),
        ("DELETE", "/v1/destinations/nope", "", 404, "no destination nope"),
        ("POST", "/v1/destinations/app/rotate-secret", #"{"retire_old": "yes"}"#, 400, "retire_old"),
        ("POST", "/v1/destinations/app/replay", "{}", 400, "since"),
        ("POST", "/v1/destinations/app/replay", #"{"since": "yesterday"}"#, 400, "RFC 3339"),
        ("POST", "/v1/destinations/app/replay", #"{"since": "2026-12-07T10:00:00Z", "after_seq": 3}"#, 400, "one of them"),
        ("POST", "/v1/destinations/app/replay", #"{"after_seq": -1}"#, 400, "after_seq"),
        ("POST", "/v1/destinations/app/replay", #"{"after_seq": 1.5}"#, 400, "whole number"),
        ("POST", "/v1/deliveries/retry", "{}", 400, "ids"),
        ("POST", "/v1/deliveries/retry", #"{"ids": ["1"]}"#, 400, "whole numbers"),
    ])
    func hostileWrites(method: String, path: String, body: String, status: Int, says: String) async throws {
        // As a service runs by default: private and loopback destinations refused (the tests' engines allow them).
        try await Self.withAPI(allowPrivate: false) { engine, client in
            let before = try await engine.store.destinations()
            let pendingBefore = try await engine.store.deliveries(destination: nil, status: .pending, limit: 1000).count
            let answer = try await Self.send(client, HTTPRequest.Method(method)!, path, body)
            #expect(answer.status.code == status, "\(method) \(path) \(body.prefix(80)) answered \(answer.status): \(answer.bodyText.prefix(300))")
            let error = answer.json?["error"]?.stringValue ?? ""
            #expect(error.contains(says), "\(method) \(path) \(body.prefix(80)): the error \"\(error)\" does not say \"\(says)\"")
            #expect(try await engine.store.destinations() == before, "\(method) \(path) \(body.prefix(80)) changed the destinations")
            #expect(try await engine.store.deliveries(destination: nil, status: .pending, limit: 1000).count == pendingBefore)
        }
    }
}
