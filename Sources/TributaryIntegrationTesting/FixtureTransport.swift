import Foundation
import TributaryTesting
import Synchronization
import TributaryCore
public import TributaryUpstream

/// An ``UpstreamTransport`` that plays a provider from a script: each request must be the next one
/// expected, and gets that exchange's canned response.
///
/// Why: a real API cannot be reached from tests, but its manifest must still be proven against
/// what its documentation says it sends. Every request received is recorded, so a test can check
/// what the poller asked for (since, cursor, tokens, conditional headers, a search body).
///
/// - Important: A request that is not the next expected one (or that comes after the script ran
///   out) is answered `421 Misdirected Request` with the reasons in the body, and recorded in
///   ``mismatches``. 421 is a 4xx, so the upstream client hands it back at once instead of
///   retrying, and the poll run ends with an error a test sees.
public final class FixtureTransport: UpstreamTransport {
    /// What the next request must be.
    public struct Expected: Sendable {
        public var method: String
        /// Absolute URL; a query in it is compared as decoded name/value pairs, in any order.
        public var url: String
        /// More query pairs (decoded form), for values a URL literal cannot hold (spaces).
        public var query: [(name: String, value: String)]
        /// Headers that must be present with exactly these values (names case-insensitive).
        public var headers: [(name: String, value: String)]
        /// Headers that must not be sent.
        public var absentHeaders: [String]
        /// A JSON body, compared as JSON (object member order ignored).
        public var jsonBody: String?
        /// Any other body (a form), compared byte for byte.
        public var body: String?

        public init(
            _ url: String, method: String = "GET", query: [(name: String, value: String)] = [],
            headers: [(name: String, value: String)] = [], absentHeaders: [String] = [], jsonBody: String? = nil, body: String? = nil
        ) {
            self.method = method
            self.url = url
            self.query = query
            self.headers = headers
            self.absentHeaders = absentHeaders
            self.jsonBody = jsonBody
            self.body = body
        }
    }

    /// A request that was not what the script expected.
    public struct Mismatch: Sendable, CustomStringConvertible {
        /// Position of the request in ``requests``.
        public var index: Int
        public var method: String
        public var url: String
        public var reasons: [String]

        public var description: String { "request #\(index) \(method) \(url): " + reasons.joined(separator: "; ") }
    }

    private struct State {
        var script: [(expected: Expected, response: UpstreamResponse)] = []
        var next = 0
        var requests: [UpstreamRequest] = []
        var mismatches: [Mismatch] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Appends one exchange to the script.
    public func expect(_ expected: Expected, respond response: UpstreamResponse) {
        state.withLock { $0.script.append((expected, response)) }
    }

    /// Every request received, in order, as sent (auth and static headers included).
    public var requests: [UpstreamRequest] { state.withLock { $0.requests } }

    /// Requests that did not match the script.
    public var mismatches: [Mismatch] { state.withLock { $0.mismatches } }

    /// Scripted exchanges not yet requested.
    public var unanswered: Int { state.withLock { $0.script.count - $0.next } }

    public func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
        state.withLock { state in
            let index = state.requests.count
            state.requests.append(request)
            guard state.next < state.script.count else {
                let mismatch = Mismatch(index: index, method: request.method, url: request.url, reasons: ["no request was expected (script exhausted)"])
                state.mismatches.append(mismatch)
                return Self.misdirected(mismatch)
            }
            let (expected, response) = state.script[state.next]
            let reasons = Self.differences(expected, request)
            guard reasons.isEmpty else {
                let mismatch = Mismatch(index: index, method: request.method, url: request.url, reasons: reasons)
                state.mismatches.append(mismatch)
                return Self.misdirected(mismatch)
            }
            state.next += 1
            return response
        }
    }

    static func misdirected(_ mismatch: Mismatch) -> UpstreamResponse {
        UpstreamResponse(status: 421, headers: [("Content-Type", "text/plain")], body: Array("fixture mismatch: \(mismatch)".utf8))
    }

    /// Why `request` is not `expected` (empty when it is).
    static func differences(_ expected: Expected, _ request: UpstreamRequest) -> [String] {
        var reasons: [String] = []
        if expected.method != request.method { reasons.append("method \(request.method), expected \(expected.method)") }
        let want = Self.split(expected.url)
        let got = Self.split(request.url)
        if want.base != got.base { reasons.append("URL \(got.base), expected \(want.base)") }
        let wantQuery = (want.query + expected.query.map { ($0.name, $0.value) }).map { "\($0.0)=\($0.1)" }.sorted()
        let gotQuery = got.query.map { "\($0.0)=\($0.1)" }.sorted()
        if wantQuery != gotQuery { reasons.append("query \(gotQuery), expected \(wantQuery)") }
        for (name, value) in expected.headers {
            let sent = request.headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
            if sent != [value] { reasons.append("header \(name): \(sent), expected [\(value)]") }
        }
        for name in expected.absentHeaders where request.headers.contains(where: { $0.name.lowercased() == name.lowercased() }) {
            reasons.append("header \(name) sent, expected none")
        }
        if let body = expected.jsonBody {
            let want = JSONValue(parsing: Array(body.utf8)).map(Self.canonical)
            let got = request.body.flatMap { JSONValue(parsing: $0) }.map(Self.canonical)
            if want == nil { reasons.append("the expected body is not JSON") }
            if want != got { reasons.append("body \(request.body.map { String(decoding: $0, as: UTF8.self) } ?? "none"), expected \(body)") }
        } else if let body = expected.body {
            let got = request.body.map { String(decoding: $0, as: UTF8.self) }
            if got != body { reasons.append("body \(got ?? "none"), expected \(body)") }
        } else if let body = request.body, !body.isEmpty {
            reasons.append("a body was sent, expected none")
        }
        return reasons
    }

    /// Scheme, host and path; and the query as decoded pairs.
    static func split(_ url: String) -> (base: String, query: [(String, String)]) {
        guard let components = URLComponents(string: url) else { return (url, []) }
        var base = components
        base.query = nil
        base.fragment = nil
        let pairs = (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }
        return (base.string ?? url, pairs)
    }

    /// `value` with every object's members sorted by key, so member order does not matter.
    static func canonical(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members): return .object(members.map { ($0.key, canonical($0.value)) }.sorted { $0.key < $1.key })
        case .array(let elements): return .array(elements.map(canonical))
        default: return value
        }
    }

    /// A canned response from `Fixtures/api/<name>.json`.
    ///
    /// The file is one JSON document: `status`, `headers` (an object of strings) and `body`
    /// (the provider's JSON, sent compactly with number literals kept exactly; absent or `null`
    /// for none), plus a `source` naming the documentation it is shaped after.
    /// - Parameter name: `<provider>/<file>` without `.json`, e.g. `github/issues-page-1`.
    public static func response(_ name: String) throws -> UpstreamResponse {
        let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2,
              let url = Fixture.url(parts[1], extension: "json", in: "api/\(parts[0])") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Fixtures/api/\(name).json"])
        }
        guard let document = JSONValue(parsing: Array(try Data(contentsOf: url))), let status = document["status"]?.int64Value else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: "Fixtures/api/\(name).json"])
        }
        var headers: [(name: String, value: String)] = []
        if case .object(let members)? = document["headers"] {
            headers = members.compactMap { member in member.value.stringValue.map { (member.key, $0) } }
        }
        var body: [UInt8] = []
        if let value = document["body"], value != .null { body = Array(value.jsonText.utf8) }
        return UpstreamResponse(status: Int(status), headers: headers, body: body)
    }
}
