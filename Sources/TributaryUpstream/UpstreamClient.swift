import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
public import TributaryCore
public import TributaryTelemetry
public import TributaryProviders

/// One HTTP request to a provider.
public struct UpstreamRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?

    public init(method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// A provider's answer, body read whole.
public struct UpstreamResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// When the attempt that got this answer was sent (after the limiter let it go): the moment
    /// the provider's state was read, for read fences. Set by ``UpstreamClient/send(_:priority:logger:)``.
    public var sentAt: Int64?

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }
}

/// Sends requests. The real one is AsyncHTTPClient; tests may substitute fixtures.
public protocol UpstreamTransport: Sendable {
    func send(_ request: UpstreamRequest) async throws -> UpstreamResponse
}

/// Why a provider call failed after its retries.
public struct UpstreamError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public var status: Int?
    /// Refused before any connection (the outbound guard): retrying cannot help.
    public var refused: Bool

    public init(_ description: String, status: Int? = nil, refused: Bool = false) {
        self.description = description
        self.status = status
        self.refused = refused
    }
}

/// AsyncHTTPClient as the transport, behind the ``OutboundGuard``.
///
/// Its client follows no redirect: AsyncHTTPClient's shared client follows up to 20, to any host and
/// from https to http, carrying the request's credentials along. ``UpstreamClient`` follows them
/// itself, within the API's origin only.
public struct HTTPTransport: UpstreamTransport {
    let timeout: TimeAmount
    let maxBodyBytes: Int
    public let outboundGuard: OutboundGuard
    let client: HTTPClient

    /// One client per way of connecting, for the process, never shut down (AsyncHTTPClient's shared
    /// client is one too), each configured to return a redirect instead of following it.
    ///
    /// The service's client lets AsyncHTTPClient retry a connection that cannot be made until the
    /// request's deadline (its recommended setting: under load, establishing connections is flaky).
    static let patient = makeClient(retryingConnections: true)
    /// A one-shot command's client fails a connection that cannot be made at once, so that
    /// ``UpstreamClient`` retries with its own backoff, saying so on each retry, within `--max-wait`
    /// (the patient client would wait silently, 30 s a try).
    static let failFast = makeClient(retryingConnections: false)

    static func makeClient(retryingConnections: Bool) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.retryConnectionEstablishment = retryingConnections
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration,
            backgroundActivityLogger: Logger(label: "tributary.upstream", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    /// - Parameters:
    ///   - outboundGuard: where requests may go; every request is checked before it connects.
    ///   - failFast: a connection that cannot be made fails the request at once (one-shot commands).
    ///   - truncateBodies: keep the first `maxBodyBytes` of a longer answer instead of failing the
    ///     request (deliveries keep only the start of a receiver's answer).
    public init(outboundGuard: OutboundGuard, timeoutSeconds: Int64 = 30, maxBodyBytes: Int = 32 << 20, failFast: Bool = false, truncateBodies: Bool = false) {
        timeout = .seconds(timeoutSeconds)
        self.maxBodyBytes = maxBodyBytes
        self.outboundGuard = outboundGuard
        self.truncateBodies = truncateBodies
        client = failFast ? Self.failFast : Self.patient
    }
    let truncateBodies: Bool

    public func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
        try await outboundGuard.check(request.url)
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(outgoing, timeout: timeout)
        let headers = response.headers.map { ($0.name, $0.value) }
        guard truncateBodies else {
            let body = try await response.body.collect(upTo: maxBodyBytes)
            return UpstreamResponse(status: Int(response.status.code), headers: headers, body: Array(buffer: body))
        }
        var kept: [UInt8] = []
        for try await chunk in response.body {
            kept += chunk.readableBytesView.prefix(maxBodyBytes - kept.count)
            // The rest is not read: the connection is closed instead of drained.
            if kept.count >= maxBodyBytes { break }
        }
        return UpstreamResponse(status: Int(response.status.code), headers: headers, body: kept)
    }
}

/// An access token Tributary renews itself (the OAuth styles): what a client asks for before each
/// request, and after the provider refused one with 401.
public struct RenewingToken: Sendable {
    /// A token valid now, renewed first when it expires within the manifest's skew.
    public let current: @Sendable () async throws -> String
    /// The provider refused this token: a fresh one (one renewal for every request that saw the refusal).
    public let rejected: @Sendable (String) async throws -> String

    public init(current: @escaping @Sendable () async throws -> String, rejected: @escaping @Sendable (String) async throws -> String) {
        self.current = current
        self.rejected = rejected
    }
}

/// Calls one connection's provider API: auth, the shared rate limiter, retries with backoff.
///
/// 429s are not retried blindly: the limiter blocks every caller of the connection until
/// the provider's `Retry-After` (or a jittered backoff when it gave none), so no request is
/// sent while the provider told us to wait. 5xx and transport errors retry with full jitter.
public struct UpstreamClient: Sendable {
    public let transport: any UpstreamTransport
    public let limiter: RateLimiter
    public let baseURL: String
    public let auth: ProviderManifest.API.Auth
    public let token: String?
    /// For the OAuth styles: the access token Tributary obtains and renews, in place of `token`.
    public let renewing: RenewingToken?
    public let staticHeaders: [String: String]
    public let signalNames: RateLimitSignals.HeaderNames
    public let maxAttempts: Int
    public let backoff: Backoff
    /// The provider's id, for the line logged at each retry.
    public let provider: String
    /// How long one request may keep waiting on a failing or throttling provider, from its first
    /// attempt (retries, backoff, the limiter's waits): a one-shot command's `--max-wait`. `nil` in
    /// `serve`, whose scheduler runs again later. A healthy run of any length is never cut short.
    public let maxWait: Duration?
    /// Told each failure's cause as it happens (a command that runs out of time says the last one).
    let onFailure: @Sendable (String) -> Void
    let clock: EngineClock
    /// Counts requests by status, 429s, and the limiter's waits, per provider.
    let telemetry: Telemetry
    /// The connection, for the per-connection metrics when they are on.
    let connection: String?

    public init(
        transport: any UpstreamTransport, limiter: RateLimiter, api: ProviderManifest.API, baseURL: String?, token: String?,
        account: String?, renewing: RenewingToken? = nil, maxAttempts: Int = 8, backoff: Backoff = Backoff(base: .milliseconds(200), cap: .seconds(30)),
        provider: String = "provider", maxWait: Duration? = nil, onFailure: @escaping @Sendable (String) -> Void = { _ in },
        clock: EngineClock, telemetry: Telemetry = .off, connection: String? = nil
    ) {
        self.telemetry = telemetry
        self.connection = connection
        self.transport = transport
        self.limiter = limiter
        let base = baseURL ?? Self.fill(api.baseURL, account: account)
        self.baseURL = base.hasSuffix("/") ? String(base.dropLast()) : base
        auth = api.auth
        self.token = token
        self.renewing = renewing
        staticHeaders = api.headers ?? [:]
        signalNames = RateLimitSignals.HeaderNames(
            remaining: api.rateLimit?.remainingHeader ?? "X-RateLimit-Remaining",
            reset: api.rateLimit?.resetHeader ?? "X-RateLimit-Reset",
            callLimit: api.rateLimit?.callLimitHeader
        )
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.provider = provider
        self.maxWait = maxWait
        self.onFailure = onFailure
        self.clock = clock
    }

    /// A manifest's base URL with `{account}` filled in, or `""` (which no request can be sent to)
    /// when the account is not fit for where it goes; ``URLTemplate`` says why.
    public static func fill(_ template: String, account: String?) -> String {
        (try? URLTemplate.fillBaseURL(template, account: account ?? "").get()) ?? ""
    }

    /// The absolute URL for `pathOrURL` (a path under the base, or an absolute URL the provider gave).
    public func url(_ pathOrURL: String, query: [(String, String)] = []) -> String {
        var url = pathOrURL.hasPrefix("http://") || pathOrURL.hasPrefix("https://") ? pathOrURL : baseURL + pathOrURL
        var pairs = query
        if auth.style == .query, let param = auth.param, let token { pairs.append((param, token)) }
        if !pairs.isEmpty {
            url += (url.contains("?") ? "&" : "?") + pairs.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        }
        return url
    }

    /// Sends `request` through the limiter with auth, retrying throttles and server errors.
    /// - Returns: the first response that is neither 429 nor 5xx (a 4xx is returned, not thrown).
    public func send(_ request: UpstreamRequest, priority: RequestPriority, logger: Logger) async throws -> UpstreamResponse {
        var current = request
        for hop in 0...Self.maxRedirects {
            let response = try await sendOnce(current, priority: priority, logger: logger)
            guard [301, 302, 303, 307, 308].contains(response.status) else { return response }
            guard hop < Self.maxRedirects else {
                throw UpstreamError("gave up after \(Self.maxRedirects) redirects from \(OutboundGuard.redacted(request.url))", status: response.status)
            }
            guard let location = response.header("Location"),
                  let target = URL(string: location, relativeTo: URL(string: current.url))?.absoluteURL.absoluteString else {
                throw UpstreamError("redirect \(response.status) without a usable Location from \(OutboundGuard.redacted(current.url))", status: response.status)
            }
            // Same origin only (scheme, host and port), so never https to http: the next hop carries the credentials.
            guard Self.origin(target) == Self.origin(baseURL) else {
                throw UpstreamError("refusing a redirect to \(Self.origin(target) ?? "an unreadable URL"), which is not the API's origin \(Self.origin(baseURL) ?? baseURL)", status: response.status)
            }
            logger.debug("following a redirect within the API's origin", metadata: ["status": "\(response.status)"])
            current.url = target
            if response.status == 303 || (response.status == 301 || response.status == 302) && current.method == "POST" {
                current.method = "GET"
                current.body = nil
                current.headers.removeAll { $0.name.lowercased() == "content-type" }
            }
        }
        throw UpstreamError("unreachable")
    }

    /// Redirects followed within the API's origin before giving up.
    public static let maxRedirects = 5

    /// One request (with its retries), no redirect followed.
    func sendOnce(_ request: UpstreamRequest, priority: RequestPriority, logger: Logger) async throws -> UpstreamResponse {
        var outgoing = request
        for (name, value) in staticHeaders { outgoing.headers.append((name, value)) }
        // Credentials go only to the API's own origin: a Link or @odata.nextLink the provider returns
        // could name another host, and must not receive the token.
        guard !baseURL.isEmpty else {
            throw UpstreamError("the connection's account does not fit the manifest's base URL; no request is sent")
        }
        guard Self.origin(outgoing.url) == Self.origin(baseURL) else {
            throw UpstreamError("refusing to send credentials to \(Self.origin(outgoing.url) ?? "an unreadable URL"), which is not the API's origin \(Self.origin(baseURL) ?? baseURL)")
        }
        var bearer = token
        outgoing.headers.append(contentsOf: authHeaders(bearer))
        /// Tokens the provider refused with 401 for this request: each is renewed once, never twice.
        var refused: Set<String> = []
        var random = SplitMix64(seed: UInt64(truncatingIfNeeded: clock.now()))
        var lastFailure = "no attempt made"
        let deadline = maxWait.map { clock.now() + $0.microseconds }
        for attempt in 0..<maxAttempts {
            if attempt > 0, let deadline, clock.now() >= deadline { throw outOfTime(attempts: attempt, lastFailure) }
            if let renewing {
                // Read at each attempt, before the limiter's slot is taken (a renewal may wait for another
                // process; the connection's one slot must not wait with it): a wait behind a 429 can
                // outlast a short-lived token, which the next attempt then renews before sending.
                let previous = bearer
                do {
                    bearer = try await renewing.current()
                } catch {
                    onFailure("\(error)")
                    throw error
                }
                if bearer != previous {
                    let names = Set(authHeaders(bearer).map { $0.name.lowercased() })
                    outgoing.headers.removeAll { names.contains($0.name.lowercased()) }
                    outgoing.headers.append(contentsOf: authHeaders(bearer))
                }
            }
            let waitStarted = clock.now()
            try await acquire(priority, by: deadline, attempts: attempt, lastFailure)
            var response: UpstreamResponse
            let sentAt = clock.now()
            telemetry.count(.limiterWaitSeconds, [provider], connection: connection, adding: Double(sentAt - waitStarted) / 1e6)
            do {
                response = try await transport.send(outgoing)
                response.sentAt = sentAt
            } catch let refusal as UpstreamError where refusal.refused {
                // The guard refused before connecting: no retry can change where the name points.
                await limiter.complete(status: nil, signals: RateLimitSignals())
                throw refusal
            } catch {
                await limiter.complete(status: nil, signals: RateLimitSignals())
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                telemetry.count(.upstreamRequests, [provider, "error"], connection: connection)
                lastFailure = Self.cause(of: error)
                try await pause(after: attempt, lastFailure, random: &random, logger: logger, deadline: deadline)
                continue
            }
            let signals = RateLimitSignals.parse(status: response.status, header: { response.header($0) }, names: signalNames, now: clock.now())
            await limiter.complete(status: response.status, signals: signals)
            telemetry.count(.upstreamRequests, [provider, String(response.status)], connection: connection)
            if response.status == 429 {
                telemetry.count(.upstreamThrottled, [provider], connection: connection)
                lastFailure = "429 Too Many Requests"
                onFailure(lastFailure)
                // The limiter holds every request of the connection until the provider's time; a
                // command that may not wait that long says so now instead of sleeping past its end.
                if let deadline, let until = signals.waitUntil, until > deadline {
                    throw outOfTime(attempts: attempt + 1, "429 Too Many Requests, to wait until \(Timestamp.rfc3339(microseconds: until))")
                }
                logger.notice("\(provider) API at \(Self.origin(baseURL) ?? baseURL): throttled (429); waiting as told (attempt \(attempt + 1) of \(maxAttempts))")
                continue
            }
            if response.status == 401, let renewing, let rejected = bearer, !refused.contains(rejected) {
                // The provider refused a token that had not expired by our clock (revoked, rotated by
                // another client, a skewed clock): renewed once, however many requests saw the 401 at
                // the same time, then the request is sent again (the next attempt reads the new one).
                refused.insert(rejected)
                logger.notice("\(provider) API at \(Self.origin(baseURL) ?? baseURL): 401 with an unexpired access token; renewing it")
                do {
                    _ = try await renewing.rejected(rejected)
                } catch {
                    onFailure("\(error)")
                    throw error
                }
                continue
            }
            if response.status >= 500 {
                lastFailure = "HTTP \(response.status)"
                try await pause(after: attempt, lastFailure, random: &random, logger: logger, deadline: deadline)
                continue
            }
            return response
        }
        throw UpstreamError("gave up after \(maxAttempts) attempts: \(lastFailure)")
    }

    /// The headers carrying `token` in the manifest's style (the OAuth styles send it as Bearer).
    func authHeaders(_ token: String?) -> [(name: String, value: String)] {
        guard let token else { return [] }
        switch auth.style {
        case .bearer, .oauth2, .oauth2ClientCredentials, .githubApp: return [("Authorization", "Bearer " + token)]
        case .basic: return [("Authorization", "Basic " + Data(token.utf8).base64EncodedString())]
        case .header: return [(auth.header ?? "Authorization", token)]
        case .query, .none: return []
        }
    }

    /// The limiter's slot, waiting no later than `deadline`: another request's 429 may hold the whole
    /// connection for longer than a one-shot command may wait.
    private func acquire(_ priority: RequestPriority, by deadline: Int64?, attempts: Int, _ lastFailure: String) async throws {
        guard let deadline else { return try await limiter.acquire(priority) }
        let (limiter, clock) = (limiter, clock)
        let acquired = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await limiter.acquire(priority)
                return true
            }
            group.addTask {
                try await clock.sleep(.microseconds(max(1, deadline - clock.now())))
                return false
            }
            let first = try await group.next() ?? false
            group.cancelAll()
            // The slot may have been granted just as the time ran out: give it back.
            while let other = try? await group.next() {
                if other, !first { await limiter.complete(status: nil, signals: RateLimitSignals()) }
            }
            return first
        }
        guard acquired else {
            throw outOfTime(attempts: attempts, attempts == 0 ? "the connection's rate limit held the request (the provider asked to wait)" : lastFailure)
        }
    }

    /// After a failed attempt: says why and when the next one goes (a warning, one line per retry),
    /// then waits; or gives up when there is no next attempt, or it would start past the deadline.
    private func pause(after attempt: Int, _ cause: String, random: inout SplitMix64, logger: Logger, deadline: Int64?) async throws {
        onFailure(cause)
        guard attempt + 1 < maxAttempts else { return }
        let delay = backoff.delay(attempt: attempt, random: random.nextUnit())
        if let deadline, clock.now() + delay.microseconds > deadline { throw outOfTime(attempts: attempt + 1, cause) }
        let wait = delay < .seconds(1) ? "\(delay.microseconds / 1000) ms" : "\((Double(delay.microseconds) / 1e5).rounded() / 10) s"
        logger.warning("\(provider) API at \(Self.origin(baseURL) ?? baseURL): \(cause); retrying in \(wait) (attempt \(attempt + 2) of \(maxAttempts))")
        try await clock.sleep(delay)
    }

    private func outOfTime(attempts: Int, _ cause: String) -> UpstreamError {
        UpstreamError("gave up after \(attempts) attempt\(attempts == 1 ? "" : "s") within max-wait \(maxWait?.components.seconds ?? 0) s: \(cause)")
    }

    /// A transport error as a short cause: the system's words for a socket error (connection
    /// refused, no route to host), not the type's debug dump.
    public static func cause(of error: any Error) -> String {
        if let io = error as? IOError { return "cannot connect: " + String(cString: strerror(io.errnoCode)).lowercased() }
        if let connection = error as? NIOConnectionError {
            if let io = connection.connectionErrors.lazy.compactMap({ $0.error as? IOError }).first {
                return "cannot connect to \(connection.host):\(connection.port): " + String(cString: strerror(io.errnoCode)).lowercased()
            }
            if connection.dnsAError != nil || connection.dnsAAAAError != nil { return "cannot resolve \(connection.host)" }
            return "cannot connect to \(connection.host):\(connection.port)"
        }
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout: return "connection timed out"
            case .readTimeout, .deadlineExceeded: return "no answer in time"
            case .remoteConnectionClosed: return "the provider closed the connection"
            default: return "transport error: \(client)"
            }
        }
        return "transport error: \(error)"
    }

    /// `scheme://host:port` of a URL (default ports made explicit), for same-origin checks.
    static func origin(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host?.lowercased(), !host.isEmpty else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        return "\(scheme)://\(host):\(port)"
    }

    /// Percent-encodes `text` for a query value or one path segment (RFC 3986 unreserved characters stay).
    public static func encode(_ text: String) -> String {
        PercentEncoding.encode(text)
    }
}
