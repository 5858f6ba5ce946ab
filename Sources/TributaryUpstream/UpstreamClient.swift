import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
public import TributaryCore
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

    public init(_ description: String, status: Int? = nil) {
        self.description = description
        self.status = status
    }
}

/// AsyncHTTPClient as the transport.
public struct HTTPTransport: UpstreamTransport {
    let client: HTTPClient
    let timeout: TimeAmount
    let maxBodyBytes: Int

    /// Uses AsyncHTTPClient's shared client (its own event loops, kept for the process lifetime).
    public init(timeoutSeconds: Int64 = 30, maxBodyBytes: Int = 32 << 20) {
        client = .shared
        timeout = .seconds(timeoutSeconds)
        self.maxBodyBytes = maxBodyBytes
    }

    public func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(outgoing, timeout: timeout)
        let body = try await response.body.collect(upTo: maxBodyBytes)
        return UpstreamResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(buffer: body))
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
    public let staticHeaders: [String: String]
    public let signalNames: RateLimitSignals.HeaderNames
    public let maxAttempts: Int
    public let backoff: Backoff
    let now: @Sendable () -> Int64

    public init(
        transport: any UpstreamTransport, limiter: RateLimiter, api: ProviderManifest.API, baseURL: String?, token: String?,
        account: String?, maxAttempts: Int = 8, backoff: Backoff = Backoff(base: .milliseconds(200), cap: .seconds(30)),
        now: @escaping @Sendable () -> Int64
    ) {
        self.transport = transport
        self.limiter = limiter
        let base = baseURL ?? api.baseURL.replacingOccurrences(of: "{account}", with: account ?? "")
        self.baseURL = base.hasSuffix("/") ? String(base.dropLast()) : base
        auth = api.auth
        self.token = token
        staticHeaders = api.headers ?? [:]
        signalNames = RateLimitSignals.HeaderNames(
            remaining: api.rateLimit?.remainingHeader ?? "X-RateLimit-Remaining",
            reset: api.rateLimit?.resetHeader ?? "X-RateLimit-Reset",
            callLimit: api.rateLimit?.callLimitHeader
        )
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.now = now
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
        var outgoing = request
        for (name, value) in staticHeaders { outgoing.headers.append((name, value)) }
        // Credentials go only to the API's own origin: a Link or @odata.nextLink the provider returns
        // could name another host, and must not receive the token.
        guard Self.origin(outgoing.url) == Self.origin(baseURL) else {
            throw UpstreamError("refusing to send credentials to \(Self.origin(outgoing.url) ?? outgoing.url), which is not the API's origin \(Self.origin(baseURL) ?? baseURL)")
        }
        if let token {
            switch auth.style {
            case .bearer: outgoing.headers.append(("Authorization", "Bearer " + token))
            case .basic: outgoing.headers.append(("Authorization", "Basic " + Data(token.utf8).base64EncodedString()))
            case .header: outgoing.headers.append((auth.header ?? "Authorization", token))
            case .query, .none: break
            }
        }
        var random = SplitMix64(seed: UInt64(truncatingIfNeeded: now()))
        var lastFailure = "no attempt made"
        for attempt in 0..<maxAttempts {
            try await limiter.acquire(priority)
            var response: UpstreamResponse
            let sentAt = now()
            do {
                response = try await transport.send(outgoing)
                response.sentAt = sentAt
            } catch {
                await limiter.complete(status: nil, signals: RateLimitSignals())
                lastFailure = "transport error: \(error)"
                logger.warning("provider request failed", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                try await Task.sleep(for: backoff.delay(attempt: attempt, random: random.nextUnit()))
                continue
            }
            let signals = RateLimitSignals.parse(status: response.status, header: { response.header($0) }, names: signalNames, now: now())
            await limiter.complete(status: response.status, signals: signals)
            if response.status == 429 {
                lastFailure = "429 Too Many Requests"
                logger.info("provider throttled; waiting as told", metadata: ["attempt": "\(attempt)"])
                continue
            }
            if response.status >= 500 {
                lastFailure = "HTTP \(response.status)"
                logger.warning("provider server error", metadata: ["status": "\(response.status)", "attempt": "\(attempt)"])
                try await Task.sleep(for: backoff.delay(attempt: attempt, random: random.nextUnit()))
                continue
            }
            return response
        }
        throw UpstreamError("gave up after \(maxAttempts) attempts: \(lastFailure)")
    }

    /// `scheme://host:port` of a URL (default ports made explicit), for same-origin checks.
    static func origin(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host?.lowercased() else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        return "\(scheme)://\(host):\(port)"
    }

    /// Percent-encodes `text` for a query value or one path segment (RFC 3986 unreserved characters stay).
    public static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
