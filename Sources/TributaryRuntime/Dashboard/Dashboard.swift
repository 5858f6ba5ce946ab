import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import TributaryAPI
import TributaryCore
import TributaryStore

/// The operator's dashboard at `/ui`: server-rendered pages that work without JavaScript and at a
/// phone's width, behind the admin token.
///
/// Logging in (the admin token in a form, or a one-time link from `POST /v1/ui/login-links`) sets an
/// HttpOnly, SameSite=Strict session cookie; every POST carries the session's CSRF token in a hidden
/// field and is refused (403) without it. Pages: the overview by connection (events by status,
/// webhook freshness and silence, poll resources, sweeps and drift, grants and subscriptions),
/// destinations; the event log with filters and each event (headers and redacted body) with replay;
/// dead, failed and quarantined events with replay, dead deliveries with retry; the mirror's records
/// with their history of events.
struct Dashboard: Sendable {
    let admin: Admin
    let store: Store
    let authenticator: AdminAuthenticator
    let sessions: DashboardSessions
    /// Cookies marked `Secure` (the service serves HTTPS itself).
    let secure: Bool
    let logger: Logger

    static let cookieName = "tributary_session"

    func add(to router: Router<BasicRequestContext>) {
        router.get("/ui/login") { request, _ in
            let failed = request.uri.queryParameters.get("failed") != nil
            return Self.html(HTML.page(title: "Log in", body: """
                \(failed ? "<p class=\"bad\">That is not this service's admin token.</p>" : "")
                <form method="post" action="/ui/login">
                <p><label>Admin token<br><input type="password" name="token" autocomplete="current-password" size="48" required></label></p>
                <p><button>Log in</button></p>
                </form>
                <p class="muted">The token is in <code>&lt;db&gt;.admin-token</code> beside the database, or TRIBUTARY_ADMIN_TOKEN.</p>
                """, nav: false))
        }
        router.post("/ui/login") { request, _ in
            var request = request
            let form = try await Self.form(&request)
            let accepted = (try? await authenticator.accepts(form["token"] ?? "")) ?? false
            guard accepted else { return redirect("/ui/login?failed=1") }
            return redirect("/ui", cookie: sessions.open())
        }
        // A one-time link: logs in and goes to `next` (a path under /ui).
        router.get("/ui/login/once") { request, _ in
            let parameters = request.uri.queryParameters
            guard let nonce = parameters.get("nonce"), sessions.redeem(nonce) else { return redirect("/ui/login?failed=1") }
            let next = parameters.get("next").flatMap { $0.hasPrefix("/ui") && !$0.hasPrefix("//") ? $0 : nil } ?? "/ui"
            return redirect(next, cookie: sessions.open())
        }
        router.post("/ui/logout") { request, _ in
            guard try await checked(request) != nil else { return Self.forbidden() }
            sessions.close(Self.cookie(request))
            return redirect("/ui/login", clearCookie: true)
        }
        page(router, "/ui") { _, _ in try await overview() }
        page(router, "/ui/events") { request, _ in try await eventLog(request) }
        page(router, "/ui/events/:seq") { _, context in try await event(context.parameters.get("seq") ?? "") }
        page(router, "/ui/problems") { _, _ in try await problems() }
        page(router, "/ui/records") { request, _ in try await records(request) }
        page(router, "/ui/records/:connection/:type/:id") { _, context in
            func decoded(_ name: String) -> String { (context.parameters.get(name) ?? "").removingPercentEncoding ?? "" }
            return try await record(connection: decoded("connection"), type: decoded("type"), id: decoded("id"))
        }
        page(router, "/ui/deliveries") { request, _ in try await deliveries(request) }
        action(router, "/ui/events/:seq/replay") { _, context in
            guard let seq = Int64(context.parameters.get("seq") ?? "") else { return ("/ui/events", "no such event") }
            let result = try await admin.replay([seq])
            let said = result.notes.map(\.text).joined(separator: "; ")
            return ("/ui/events/\(seq)", result.backToPending > 0 ? "event \(seq) is pending again" + (said.isEmpty ? "" : ": " + said) : said.isEmpty ? "nothing to replay" : said)
        }
        action(router, "/ui/deliveries/:id/retry") { _, context in
            guard let id = Int64(context.parameters.get("id") ?? "") else { return ("/ui/deliveries", "no such delivery") }
            let queued = try await admin.retryDeliveries(ids: [id], destination: nil)
            return ("/ui/deliveries?status=dead", queued == 1 ? "delivery \(id) queued again" : "delivery \(id) was not retried (not dead, or a newer one of its record was delivered)")
        }
    }

    // MARK: plumbing

    /// A GET page behind the session (without one: the login form), rendered with the session's CSRF token in its forms.
    func page(
        _ router: Router<BasicRequestContext>, _ path: RouterPath,
        _ render: @escaping @Sendable (Request, BasicRequestContext) async throws -> (title: String, body: String)
    ) {
        router.get(path) { request, context -> Response in
            guard let session = sessions.session(Self.cookie(request)) else { return redirect("/ui/login") }
            do {
                let (title, body) = try await render(request, context)
                let flash = request.uri.queryParameters.get("done")
                return Self.html(HTML.page(title: title, body: body, flash: flash), csrf: session.csrf)
            } catch let error as OperationError {
                return Self.html(HTML.page(title: "Not found", body: "<p class=\"bad\">\(HTML.escape(error.message))</p>"), csrf: session.csrf, status: .notFound)
            }
        }
    }

    /// A POST behind the session and its CSRF token (403 without either); `perform` says where to go
    /// next and what happened, shown there.
    func action(
        _ router: Router<BasicRequestContext>, _ path: RouterPath,
        _ perform: @escaping @Sendable (Request, BasicRequestContext) async throws -> (next: String, said: String)
    ) {
        router.post(path) { request, context -> Response in
            guard try await checked(request) != nil else { return Self.forbidden() }
            do {
                let (next, said) = try await perform(request, context)
                return redirect(next + (next.contains("?") ? "&" : "?") + "done=" + HTML.component(said))
            } catch let error as OperationError {
                return redirect("/ui?done=" + HTML.component(error.message))
            }
        }
    }

    /// The session of a POST whose form carries its CSRF token; `nil` otherwise.
    func checked(_ request: Request) async throws -> [String: String]? {
        guard let session = sessions.session(Self.cookie(request)) else { return nil }
        var request = request
        let form = try await Self.form(&request)
        guard let token = form["csrf"], constantTimeEquals(Array(token.utf8), Array(session.csrf.utf8)) else { return nil }
        return form
    }

    static func cookie(_ request: Request) -> String? {
        for field in request.headers[values: .cookie] {
            for part in field.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0] == cookieName { return String(pair[1]) }
            }
        }
        return nil
    }

    /// An `application/x-www-form-urlencoded` body of at most 16 KB.
    static func form(_ request: inout Request) async throws -> [String: String] {
        let buffer = try await request.collectBody(upTo: 16 * 1024)
        var form: [String: String] = [:]
        for pair in String(buffer: buffer).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            if let key = kv.first, form[key] == nil { form[key] = kv.count == 2 ? kv[1] : "" }
        }
        return form
    }

    static func headers(_ extra: HTTPFields = [:]) -> HTTPFields {
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff", HTTPField.Name("Referrer-Policy")!: "no-referrer",
        ]
        headers.append(contentsOf: extra)
        return headers
    }

    static func html(_ text: String, csrf: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        let filled = text.replacingOccurrences(of: "{{csrf}}", with: csrf.map { "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape($0))\">" } ?? "")
        return Response(status: status, headers: headers(), body: .init(byteBuffer: ByteBuffer(string: filled)))
    }

    func redirect(_ location: String, cookie: String? = nil, clearCookie: Bool = false) -> Response {
        var extra: HTTPFields = [.location: location]
        let attributes = "Path=/ui; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
        if let cookie { extra[.setCookie] = "\(Self.cookieName)=\(cookie); Max-Age=\(DashboardSessions.lifetime / 1_000_000); \(attributes)" }
        if clearCookie { extra[.setCookie] = "\(Self.cookieName)=; Max-Age=0; \(attributes)" }
        return Response(status: .seeOther, headers: Self.headers(extra))
    }

    static func forbidden() -> Response {
        html(HTML.page(title: "Refused", body: "<p class=\"bad\">This form was not sent from a page of this session (no or a wrong CSRF token). <a href=\"/ui\">Back to the dashboard</a>.</p>", nav: false), status: .forbidden)
    }
}
