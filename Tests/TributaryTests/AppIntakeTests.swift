import Foundation
import HTTPTypes
import Logging
import Testing
import TributaryCore
import TributaryRuntime
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting

/// One webhook URL per provider app: every install's deliveries arrive at `/webhooks/{provider}/apps/{app}`,
/// signed with the app's secret, and each goes to the connection whose account it names, or waits
/// quarantined under the app. Never to a tenant by guess.
@Suite("App-level intake")
struct AppIntakeTests {
    static let now: Int64 = 1_796_000_000
    static let githubSecret = "github-app-webhook-secret"

    /// A GitHub `issues` delivery about installation `installation` (`nil`: a plain repository hook's body).
    static func issue(_ n: Int, installation: Int?) -> String {
        let install = installation.map { #","installation":{"id":\#($0)}"# } ?? ""
        return #"{"action":"edited","issue":{"id":\#(n),"number":\#(n),"title":"T\#(n)","updated_at":"2026-11-20T10:00:00Z"}\#(install)}"#
    }

    static func engine(_ directory: URL) throws -> Engine {
        try Engine(configuration: TestEngine.configuration(directory: directory, now: now * 1_000_000))
    }

    static func githubApp(_ store: Store, id: String = "gh", secret: String = githubSecret, installs: [(String, String, String)]) async throws {
        _ = try await store.addApp(id: id, provider: "github", credentials: AppCredentials(webhookSecrets: [secret]), now: 0)
        for (connection, account, tenant) in installs {
            _ = try await store.addConnection(
                id: connection, provider: "github", tenant: tenant, account: account, app: id, toleranceSeconds: nil, webhookSecrets: [], now: 0
            )
        }
    }

    @Test("three installations at one URL reach three connections; an unknown or missing installation waits under the app; forged, unknown app and wrong provider are refused")
    func githubAppInstallations() async throws {
        let directory = try TestPaths.temporaryDirectory("app-intake")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Self.engine(directory)
        try await Self.githubApp(engine.store, installs: [("acme-gh", "111", "acme"), ("globex-gh", "222", "globex"), ("initech-gh", "333", "initech")])
        try await TestEngine.live(engine) { client in
            // (delivery, installation, expected connection or nil for the app's quarantine)
            let rows: [(String, Int?, String?)] = [
                ("d-1", 111, "acme-gh"), ("d-2", 222, "globex-gh"), ("d-3", 333, "initech-gh"), ("d-4", 999, nil), ("d-5", nil, nil),
            ]
            for (n, row) in rows.enumerated() {
                let body = Self.issue(n + 1, installation: row.1)
                let answer = try await client.send("/webhooks/github/apps/gh", headers: Signer.github(body: body, secret: Self.githubSecret, delivery: row.0), body: body)
                #expect(answer.status == .ok, "\(row.0): \(answer.status) \(answer.bodyText)")
                #expect((answer.json?["quarantined"] == .bool(true)) == (row.2 == nil), "\(row.0): \(answer.bodyText)")
            }
            // The provider retries d-1: a duplicate, wherever it is routed.
            let retry = Self.issue(1, installation: 111)
            #expect(try await client.send("/webhooks/github/apps/gh", headers: Signer.github(body: retry, secret: Self.githubSecret, delivery: "d-1"), body: retry)
                .json?["duplicate"] == .bool(true))

            let body = Self.issue(9, installation: 111)
            let refusals: [(path: String, secret: String, status: HTTPResponse.Status)] = [
                ("/webhooks/github/apps/gh", "another-secret", .unauthorized),   // forged
                ("/webhooks/github/apps/nope", Self.githubSecret, .notFound),     // no such app
                ("/webhooks/stripe/apps/gh", Self.githubSecret, .notFound),       // a GitHub app is not Stripe's
                ("/webhooks/github/apps/", Self.githubSecret, .notFound),
            ]
            for row in refusals {
                let answer = try await client.send(row.path, headers: Signer.github(body: body, secret: row.secret, delivery: "d-9"), body: body)
                #expect(answer.status == row.status, "\(row.path): \(answer.status)")
            }
        }
        for (connection, tenant, issue) in [("acme-gh", "acme", "1"), ("globex-gh", "globex", "2"), ("initech-gh", "initech", "3")] {
            let events = try await engine.store.events(EventFilter(connection: connection))
            #expect(events.count == 1 && events.allSatisfy { $0.tenant == tenant && $0.status == .pending && $0.recordId == issue },
                    "\(connection): \(events.map { ($0.tenant, $0.recordId) })")
        }
        let waiting = try await engine.store.events(EventFilter(connection: "app:gh"))
        #expect(waiting.map(\.eventId) == ["d-4", "d-5"])
        #expect(waiting.allSatisfy { $0.status == .quarantined && $0.tenant.isEmpty })
        #expect(waiting.first?.reason == "no connection of app gh has account 999")
        #expect(waiting.last?.reason?.contains("names no account") == true)
        #expect(try await engine.store.events(EventFilter()).count == 5, "refused requests store nothing")
    }

    @Test("a connection's own URL still works for an app's connection, verified with the app's secret, and refuses another account's delivery")
    func perConnectionURLs() async throws {
        let directory = try TestPaths.temporaryDirectory("app-intake")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Self.engine(directory)
        try await Self.githubApp(engine.store, installs: [("acme-gh", "111", "acme"), ("globex-gh", "222", "globex")])
        // A plain connection alongside, with its own secret.
        _ = try await engine.store.addConnection(id: "solo", provider: "github", tenant: "solo", account: nil, toleranceSeconds: nil, webhookSecrets: ["solo-secret"], now: 0)
        try await TestEngine.live(engine) { client in
            let own = Self.issue(1, installation: 111)
            #expect(try await client.send("/webhooks/github/acme-gh", headers: Signer.github(body: own, secret: Self.githubSecret, delivery: "p-1"), body: own).status == .ok)
            let other = Self.issue(2, installation: 222)
            let answer = try await client.send("/webhooks/github/acme-gh", headers: Signer.github(body: other, secret: Self.githubSecret, delivery: "p-2"), body: other)
            #expect(answer.status == .ok && answer.json?["quarantined"] == .bool(true))
            let plain = Self.issue(3, installation: nil)
            #expect(try await client.send("/webhooks/github/solo", headers: Signer.github(body: plain, secret: "solo-secret", delivery: "p-3"), body: plain).status == .ok)
            // The app's secret does not sign for a connection outside the app.
            #expect(try await client.send("/webhooks/github/solo", headers: Signer.github(body: plain, secret: Self.githubSecret, delivery: "p-4"), body: plain).status == .unauthorized)
        }
        let acme = try await engine.store.events(EventFilter(connection: "acme-gh"))
        #expect(acme.map(\.status) == [.pending, .quarantined])
        #expect(try await engine.store.events(EventFilter(connection: "globex-gh")).isEmpty, "another account's delivery at acme's URL never reaches globex")
        #expect(try await engine.store.events(EventFilter(connection: "solo")).count == 1)
    }

    @Test("a delivery signed with app A's secret that names app B's customer stays under A; at B's URL it is forged")
    func crossApp() async throws {
        let directory = try TestPaths.temporaryDirectory("app-intake")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Self.engine(directory)
        try await Self.githubApp(engine.store, id: "app-a", secret: "secret-a", installs: [("a-1", "100", "alpha")])
        try await Self.githubApp(engine.store, id: "app-b", secret: "secret-b", installs: [("b-1", "555", "beta")])
        let body = Self.issue(1, installation: 555)
        try await TestEngine.live(engine) { client in
            let atA = try await client.send("/webhooks/github/apps/app-a", headers: Signer.github(body: body, secret: "secret-a", delivery: "x-1"), body: body)
            #expect(atA.status == .ok && atA.json?["quarantined"] == .bool(true))
            let atB = try await client.send("/webhooks/github/apps/app-b", headers: Signer.github(body: body, secret: "secret-a", delivery: "x-1"), body: body)
            #expect(atB.status == .unauthorized)
            let atConnection = try await client.send("/webhooks/github/b-1", headers: Signer.github(body: body, secret: "secret-a", delivery: "x-1"), body: body)
            #expect(atConnection.status == .unauthorized)
        }
        #expect(try await engine.store.events(EventFilter(connection: "b-1")).isEmpty)
        #expect(try await engine.store.events(EventFilter(connection: "app:app-a")).map(\.reason) == ["no connection of app app-a has account 555"])
    }

    @Test("a HubSpot batch naming two portals is split between their connections; a third portal's element waits under the app")
    func hubspotBatchAcrossPortals() async throws {
        let directory = try TestPaths.temporaryDirectory("app-intake")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Self.engine(directory)
        let secret = "hubspot-client-secret"
        _ = try await engine.store.addApp(id: "hs", provider: "hubspot", credentials: AppCredentials(webhookSecrets: [secret], clientID: "cid"), now: 0)
        for (connection, portal, tenant) in [("acme-hs", "100", "acme"), ("globex-hs", "200", "globex")] {
            _ = try await engine.store.addConnection(id: connection, provider: "hubspot", tenant: tenant, account: portal, app: "hs", toleranceSeconds: nil, webhookSecrets: [], now: 0)
        }
        func element(_ portal: Int, _ object: Int) -> String {
            #"{"eventId":\#(object),"subscriptionId":1,"portalId":\#(portal),"appId":9,"occurredAt":1795999990000,"subscriptionType":"contact.propertyChange","attemptNumber":0,"objectId":\#(object),"propertyName":"email","propertyValue":"a@b.test","changeSource":"CRM"}"#
        }
        let body = "[" + [element(100, 1), element(200, 2), element(300, 3), element(100, 4)].joined(separator: ",") + "]"
        let path = "/webhooks/hubspot/apps/hs"
        try await TestEngine.live(engine) { client in
            let headers = Signer.hubspotV3(url: TestEngine.publicURL + path, body: body, secret: secret, timestampMillis: Self.now * 1000)
            let answer = try await client.send(path, headers: headers, body: body)
            #expect(answer.status == .ok)
            guard case .array(let each)? = answer.json?["events"] else {
                Issue.record("no events in \(answer.bodyText)")
                return
            }
            #expect(each.map { $0["quarantined"] == .bool(true) } == [false, false, true, false])
        }
        #expect(try await engine.store.events(EventFilter(connection: "acme-hs")).map { $0.recordId } == ["1", "4"])
        #expect(try await engine.store.events(EventFilter(connection: "globex-hs")).map { $0.recordId } == ["2"])
        #expect(try await engine.store.events(EventFilter(connection: "globex-hs")).allSatisfy { $0.tenant == "globex" })
        #expect(try await engine.store.events(EventFilter(connection: "app:hs")).map(\.reason) == ["no connection of app hs has account 300"])
    }

    @Test("Slack's url_verification at an app's URL is answered once signed, refused when not")
    func slackURLVerification() async throws {
        let directory = try TestPaths.temporaryDirectory("app-intake")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try Self.engine(directory)
        _ = try await engine.store.addApp(id: "bot", provider: "slack", credentials: AppCredentials(webhookSecrets: ["slack-signing-secret"]), now: 0)
        let body = #"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#
        try await TestEngine.live(engine) { client in
            let signed = try await client.send("/webhooks/slack/apps/bot", headers: Signer.slack(body: body, secret: "slack-signing-secret", timestamp: Self.now), body: body)
            #expect(signed.status == .ok && signed.bodyText.contains("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"))
            let forged = try await client.send("/webhooks/slack/apps/bot", headers: Signer.slack(body: body, secret: "wrong", timestamp: Self.now), body: body)
            #expect(forged.status == .unauthorized)
        }
        #expect(try await engine.store.events(EventFilter()).isEmpty, "a handshake is not an event")
    }

    @Test("replay routes a waiting delivery once its connection exists, settles the provider's later retry as a duplicate, and keeps another account's delivery quarantined")
    func replayRoutes() async throws {
        let directory = try TestPaths.temporaryDirectory("app-intake")
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = TestEngine.configuration(directory: directory, now: Self.now * 1_000_000)
        let engine = try Engine(configuration: configuration)
        try await Self.githubApp(engine.store, installs: [("acme-gh", "111", "acme")])
        let early = Self.issue(7, installation: 777)
        let foreign = Self.issue(8, installation: 888)
        try await TestEngine.live(engine) { client in
            _ = try await client.send("/webhooks/github/apps/gh", headers: Signer.github(body: early, secret: Self.githubSecret, delivery: "r-1"), body: early)
            _ = try await client.send("/webhooks/github/acme-gh", headers: Signer.github(body: foreign, secret: Self.githubSecret, delivery: "r-2"), body: foreign)
        }
        let admin = try Admin(databasePath: configuration.databasePath, providersDirectory: TestPaths.providers, masterKey: TestSecrets.masterKey, environment: [:])
        let waiting = try #require(try await engine.store.events(EventFilter(connection: "app:gh")).first)
        let mismatched = try #require(try await engine.store.events(EventFilter(connection: "acme-gh")).first)

        // No connection for 777 yet: it stays, and says what to do.
        let before = try await admin.replay([waiting.seq, mismatched.seq])
        #expect(before.backToPending == 0)
        #expect(before.notes.map(\.text).contains { $0.contains("no connection of app gh has account 777") && $0.contains("--account 777") })
        #expect(before.notes.map(\.text).contains { $0.contains("event \(mismatched.seq) stays quarantined: account 888") })

        _ = try await engine.store.addConnection(id: "late-gh", provider: "github", tenant: "late", account: "777", app: "gh", toleranceSeconds: nil, webhookSecrets: [], now: 1)
        let after = try await admin.replay([waiting.seq])
        #expect(after.backToPending == 1)
        let routed = try await engine.store.events(EventFilter(connection: "late-gh"))
        #expect(routed.map(\.seq) == [waiting.seq] && routed.first?.tenant == "late" && routed.first?.status == .pending && routed.first?.eventId == "r-1")
        #expect(try await engine.store.events(EventFilter(connection: "app:gh")).isEmpty)

        // The provider's retry of r-1, arriving after the route: a duplicate of the routed event.
        let engine2 = try Engine(configuration: configuration)
        try await TestEngine.live(engine2) { client in
            let retry = try await client.send("/webhooks/github/apps/gh", headers: Signer.github(body: early, secret: Self.githubSecret, delivery: "r-1"), body: early)
            #expect(retry.json?["duplicate"] == .bool(true) && retry.json?["seq"] == .number(String(waiting.seq)))
        }
        #expect(try await engine.store.events(EventFilter(connection: "acme-gh")).map(\.status) == [.quarantined], "888's delivery never reached acme by replay")

        // Waiting under the app, then the connection is added and the provider's retry reaches it
        // first: replaying the waiting copy settles it as a duplicate, and it is never applied.
        let twin = Self.issue(10, installation: 778)
        try await TestEngine.live(engine2) { client in
            _ = try await client.send("/webhooks/github/apps/gh", headers: Signer.github(body: twin, secret: Self.githubSecret, delivery: "r-3"), body: twin)
        }
        let copy = try #require(try await engine.store.events(EventFilter(connection: "app:gh")).first)
        _ = try await engine.store.addConnection(id: "twin-gh", provider: "github", tenant: "twin", account: "778", app: "gh", toleranceSeconds: nil, webhookSecrets: [], now: 2)
        // A fresh process: engine2 may still hold "no connection has 778" for its cache's few seconds.
        try await TestEngine.live(try Engine(configuration: configuration)) { client in
            _ = try await client.send("/webhooks/github/apps/gh", headers: Signer.github(body: twin, secret: Self.githubSecret, delivery: "r-3"), body: twin)
        }
        let settled = try await admin.replay([copy.seq])
        #expect(settled.backToPending == 0 && settled.notes.map(\.text).contains { $0.contains("is a duplicate of event") })
        #expect(try await engine.store.event(seq: copy.seq)?.status == .superseded)
        let again = try await admin.replay([copy.seq])
        #expect(again.backToPending == 0 && again.notes.map(\.text).contains { $0.contains("nothing to replay") })
        #expect(try await engine.store.events(EventFilter(connection: "twin-gh")).count == 1)
        // Nothing waits under the app any more: it can be removed once its connections are.
        for id in ["acme-gh", "late-gh", "twin-gh"] { _ = try await engine.store.removeConnection(id: id, purge: true) }
        #expect(try await engine.store.removeApp(id: "gh") == 0)
    }

    @Test("an app's connections need a distinct account and the app's provider; an app with connections or waiting deliveries is not removed")
    func membershipRules() async throws {
        let directory = try TestPaths.temporaryDirectory("app-store")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.appendingPathComponent("t.db").path, masterKey: TestSecrets.masterKey, logger: Logger(label: "test"))
        try await Self.githubApp(store, installs: [("acme-gh", "111", "acme")])
        let refused: [(String, String, String?, String?, String)] = [
            // (id, provider, account, app, message fragment)
            ("dup", "github", "111", "gh", "already belongs to connection acme-gh"),
            ("noacct", "github", nil, "gh", "needs --account"),
            ("wrong", "stripe", "111", "gh", "is a github app"),
            ("ghost", "github", "5", "nope", "no app nope"),
        ]
        for (id, provider, account, app, fragment) in refused {
            do {
                _ = try await store.addConnection(id: id, provider: provider, tenant: "t", account: account, app: app, toleranceSeconds: nil, webhookSecrets: [], now: 0)
                Issue.record("\(id) was accepted")
            } catch {
                #expect(error.message.contains(fragment), "\(id): \(error.message)")
            }
        }
        await #expect(throws: StoreError.self) { try await store.removeApp(id: "gh") }
        _ = try await store.removeConnection(id: "acme-gh", purge: true)
        _ = try await store.append(EventDraft(
            connection: "app:gh", tenant: "", provider: "github", source: .webhook, eventId: "w-1", type: "issues", record: nil,
            occurredAt: nil, receivedAt: 0, status: .quarantined, reason: "no connection", headers: [], body: [], url: nil
        ))
        do {
            try await store.removeApp(id: "gh")
            Issue.record("an app with a waiting delivery was removed")
        } catch {
            #expect(error.message.contains("1 quarantined deliveries"))
        }
        #expect(try await store.removeApp(id: "gh", purge: true) == 1)
        #expect(try await store.apps().isEmpty)
        // Events cannot be filed under an app that does not exist.
        await #expect(throws: StoreError.self) {
            _ = try await store.append(EventDraft(
                connection: "app:gone", tenant: "", provider: "github", source: .webhook, eventId: "w-2", type: nil, record: nil,
                occurredAt: nil, receivedAt: 0, status: .quarantined, reason: nil, headers: [], body: [], url: nil
            ))
        }
    }
}
