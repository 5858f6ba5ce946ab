import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TributaryCore

/// A response with its body read once.
struct SentResponse {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var bodyText: String

    var json: JSONValue? { JSONValue(parsing: Array(bodyText.utf8)) }
}

extension TestClientProtocol {
    /// Sends `body` with `headers` (names as given) to `path`.
    func send(_ path: String, method: HTTPRequest.Method = .post, headers: [String: String], body: String) async throws -> SentResponse {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        return try await execute(uri: path, method: method, headers: fields, body: body.isEmpty ? nil : ByteBuffer(string: body)) { response in
            SentResponse(status: response.status, headers: response.headers, bodyText: String(buffer: response.body))
        }
    }
}
