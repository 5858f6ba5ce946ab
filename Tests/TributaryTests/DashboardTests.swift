import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryRuntime
import TributaryStore
import TributaryTesting

/// The `/ui` dashboard in a real browser: Debian's `chromium`, headless, loads each page through a
/// one-time login link (`--dump-dom` for the content, `--screenshot` at a phone's width for a PNG);
/// the replay button's form is sent as the browser sends it, and forms without the CSRF token are refused.
@Suite("Dashboard", .serialized)
struct DashboardTests {
    /// `chromium` on PATH (`.ci/run` installs Debian's).
    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    /// Run with `TRIBUTARY_BROWSER_TESTS=1` (`.ci/run` does, in a stage of its own after the other
    /// tests): a browser launched beside the whole suite takes both cores of a small machine, and
    /// the suite's timing-sensitive tests then fail for want of CPU, not for a fault.
    static let enabled = ProcessInfo.processInfo.environment["TRIBUTARY_BROWSER_TESTS"] == "1"

    /// A body that would run script if the dashboard did not escape what providers send.
    static let hostile = #"{"title":"<script>document.title='pwned'</script><img src=x onerror=alert(1)>","id":"1"}"#

    static func seed(_ store: Store) async throws -> (quarantined: Int64, applied: Int64) {
        _ = try await store.addConnection(id: "gh1", provider: "github", tenant: "acme", account: nil, toleranceSeconds: nil, webhookSecrets: ["s"], now: 0)
        var applied: Int64 = 0
        for (id, version) in [("1", 1), ("2", 1), ("1", 2)] {
            let result = try await store.append(EventDraft(
                connection: "gh1", tenant: "acme", provider: "github", source: .webhook, eventId: "d-\(id)-\(version)", type: "issues.edited",
                record: RecordRef(recordType: "issue", recordId: id, version: Int64(version), deleted: false, fullState: true),
                occurredAt: nil, receivedAt: 1_000_000 * Int64(version), headers: [("X-GitHub-Event", "issues")], body: Array(#"{"id":"\#(id)","v":\#(version)}"#.utf8), url: nil
            ))
            applied = result.seq
        }
        _ = try await store.applyPendingEvents(limit: 100, now: 3_000_000) { _, _, body in body }
        let quarantined = try await store.append(EventDraft(
            connection: "gh1", tenant: "acme", provider: "github", source: .webhook, eventId: "q-1", type: nil, record: nil,
            occurredAt: nil, receivedAt: 4_000_000, status: .quarantined, reason: "unreadable: <b>no record id</b>",
            headers: [("X-GitHub-Event", "<script>x</script>")], body: Array(hostile.utf8), url: nil
        ))
        return (quarantined.seq, applied)
    }

    /// Loads `path` in headless chromium through a fresh one-time link; returns the DOM as chromium
    /// serialised it, and saves a screenshot at 390×844 (a phone) as `<name>.png` in `shots`.
    static func browse(_ path: String, port: Int, name: String, shots: URL, profile: URL) async throws -> String {
        let chromium = try #require(chromium, "chromium is not installed (.ci/run installs Debian's chromium)")
        func link() async throws -> String {
            let answer = try await http(port: port, "POST", "/v1/ui/login-links", headers: ["Authorization": "Bearer \(TestEngine.adminToken)"], body: #"{"next":"\#(path)"}"#)
            let json = try #require(JSONValue(parsing: Array(answer.body.utf8)))
            return "http://127.0.0.1:\(port)" + (try #require(json["path"]?.stringValue))
        }
        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--user-data-dir=\(profile.path)", "--window-size=390,844"]
        let dom = try run(chromium, common + ["--dump-dom", try await link()])
        _ = try run(chromium, common + ["--screenshot=\(shots.appendingPathComponent(name + ".png").path)", try await link()])
        return dom
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    struct Answer { var status: Int; var headers: [(String, String)]; var body: String }

    /// One request with no redirect followed (a form's 303 is checked, not chased).
    static func http(port: Int, _ method: String, _ path: String, headers: [String: String] = [:], body: String = "") async throws -> Answer {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))
        defer { _ = client.shutdown() }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if !body.isEmpty { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let collected = try await response.body.collect(upTo: 4 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: String(buffer: collected))
    }

    @Test("each page renders in chromium at a phone's width, escapes what providers send; replay works through its form; POSTs without the CSRF token are refused", .enabled(if: enabled))
    func pages() async throws {
        let directory = try TestPaths.temporaryDirectory("dashboard")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Screenshots outlive the test: CI keeps them (TRIBUTARY_UI_SCREENSHOTS names where).
        let shots = URL(fileURLWithPath: ProcessInfo.processInfo.environment["TRIBUTARY_UI_SCREENSHOTS"] ?? NSTemporaryDirectory() + "tributary-ui-screenshots")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        let profile = directory.appendingPathComponent("chromium-profile")
        let engine = try Engine(configuration: TestEngine.configuration(directory: directory))
        // A destination first, so the seeded changes queue deliveries for the deliveries page.
        _ = try await engine.store.addDestination(id: "app", url: "http://127.0.0.1:9/hook", tenant: nil, connection: nil, kinds: [.recordChanged], recordTypes: [], secret: "whsec_c2VjcmV0", now: 0)
        let (quarantined, _) = try await Self.seed(engine.store)

        let (ports, port) = AsyncStream.makeStream(of: Int.self)
        try await RunningServices.run([engine.application { port.yield($0) }], ports: ports, logger: SimulatorRig.logger) { port in
            let expectations: [(path: String, name: String, says: [String])] = [
                ("/ui", "overview", ["Overview", "By provider and tenant", "gh1", "acme", "Destinations", "app"]),
                ("/ui/events", "events", ["Events", "issues.edited", "quarantined", "every connection"]),
                ("/ui/events?status=quarantined&connection=gh1", "events-filtered", ["quarantined", "unreadable: &lt;b&gt;no record id"]),
                ("/ui/events/\(quarantined)", "event", ["Event \(quarantined)", "Replay", "Headers", "X-GitHub-Event", "no record id"]),
                ("/ui/problems", "problems", ["Dead &amp; quarantined", "Quarantined", "unreadable: &lt;b&gt;no record id"]),
                ("/ui/records?connection=gh1", "records", ["Mirror of gh1", "issue"]),
                ("/ui/records/gh1/issue/1", "record", ["issue 1", "History", "issue 1 v2", "issue 1 v1", #""v":2"#]),
                ("/ui/deliveries", "deliveries", ["Deliveries", "app"]),
            ]
            for (path, name, says) in expectations {
                let dom = try await Self.browse(path, port: port, name: name, shots: shots, profile: profile)
                #expect(!dom.contains("Log in ·"), "\(path) showed the login form: the one-time link did not log in")
                for text in says { #expect(dom.contains(text), "\(path) lacks \"\(text)\"") }
                // What providers sent is text, never markup: no element was made from it.
                #expect(!dom.contains("<script>") && !dom.contains("<img src=\"x\""), "\(path) rendered a provider's body as markup")
                #expect(!dom.contains("pwned</title>"))
                #expect(dom.contains("name=\"viewport\""))
            }
            let eventDOM = try await Self.browse("/ui/events/\(quarantined)", port: port, name: "event-again", shots: shots, profile: profile)
            #expect(eventDOM.contains("&lt;script&gt;document.title"), "the hostile body is not shown escaped")

            // Without a session every page goes to the login form; a wrong token does not log in.
            #expect(try await Self.http(port: port, "GET", "/ui/events").status == 303)
            let wrong = try await Self.http(port: port, "POST", "/ui/login", headers: ["Content-Type": "application/x-www-form-urlencoded"], body: "token=nope")
            #expect(wrong.headers.first { $0.0.lowercased() == "location" }?.1 == "/ui/login?failed=1")
            #expect(!wrong.headers.contains { $0.0.lowercased() == "set-cookie" })

            // Logged in with the token: the cookie is HttpOnly and SameSite=Strict.
            let login = try await Self.http(port: port, "POST", "/ui/login", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                                            body: "token=" + (TestEngine.adminToken.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
            #expect(login.status == 303)
            let setCookie = try #require(login.headers.first { $0.0.lowercased() == "set-cookie" }?.1)
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/ui"))
            let cookie = String(setCookie.prefix { $0 != ";" })

            // The replay button is a form: its action and hidden CSRF token, sent as the browser sends them.
            let page = try await Self.http(port: port, "GET", "/ui/events/\(quarantined)", headers: ["Cookie": cookie])
            #expect(page.status == 200)
            let action = "/ui/events/\(quarantined)/replay"
            #expect(page.body.contains("action=\"\(action)\""))
            let csrf = try #require(page.body.range(of: #"name="csrf" value=""#).map { range in String(page.body[range.upperBound...].prefix { $0 != "\"" }) })
            let form = ["Content-Type": "application/x-www-form-urlencoded"]

            // Refused: no token, a wrong token, the right token without the session cookie.
            for (label, headers, body) in [("no CSRF token", form.merging(["Cookie": cookie]) { $1 }, ""),
                                           ("a wrong CSRF token", form.merging(["Cookie": cookie]) { $1 }, "csrf=x" + csrf),
                                           ("no session", form, "csrf=" + csrf)] {
                let refused = try await Self.http(port: port, "POST", action, headers: headers, body: body)
                #expect(refused.status == 403, "a replay with \(label) answered \(refused.status)")
            }
            #expect(try await engine.store.event(seq: quarantined)?.status == .quarantined, "a refused POST changed the event")

            let replayed = try await Self.http(port: port, "POST", action, headers: form.merging(["Cookie": cookie]) { $1 }, body: "csrf=" + csrf)
            #expect(replayed.status == 303)
            #expect(replayed.headers.first { $0.0.lowercased() == "location" }?.1.hasPrefix("/ui/events/\(quarantined)?done=") == true)
            // A quarantined delivery is read again with the manifests; this one has no record id, so it says why it stays.
            let after = try await Self.http(port: port, "GET", replayed.headers.first { $0.0.lowercased() == "location" }?.1 ?? "/ui", headers: ["Cookie": cookie])
            #expect(after.body.contains("class=\"flash\""), "the replay's outcome is not shown")
            let logout = try await Self.http(port: port, "POST", "/ui/logout", headers: form.merging(["Cookie": cookie]) { $1 }, body: "csrf=" + csrf)
            #expect(logout.status == 303)
            #expect(try await Self.http(port: port, "GET", "/ui", headers: ["Cookie": cookie]).status == 303, "the session outlived its logout")
            print("dashboard screenshots (390x844): \(shots.path)")
        }
    }
}
