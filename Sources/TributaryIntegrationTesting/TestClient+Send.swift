import Foundation
public import HTTPTypes
public import HummingbirdTesting
import NIOCore
public import TributaryCore

/// A response with its body read once.
public struct SentResponse: Sendable {
    public var status: HTTPResponse.Status
    public var headers: HTTPFields
    public var bodyText: String

    public var json: JSONValue? { JSONValue(parsing: Array(bodyText.utf8)) }
}

extension TestClientProtocol {
    /// Sends `body` with `headers` (names as given) to `path`.
    public func send(_ path: String, method: HTTPRequest.Method = .post, headers: [String: String], body: String) async throws -> SentResponse {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        return try await execute(uri: path, method: method, headers: fields, body: body.isEmpty ? nil : ByteBuffer(string: body)) { response in
            SentResponse(status: response.status, headers: response.headers, bodyText: String(buffer: response.body))
        }
    }
}
