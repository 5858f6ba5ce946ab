import Hummingbird
import HTTPTypes
import NIOCore
import TributaryCore

/// JSON answers of the API, written from ``JSONValue`` so numbers and ids keep their exact text.
enum APIResponse {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(value.jsonText)
        buffer.writeString("\n")
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: buffer))
    }

    /// `{"error": "…"}` with `status`.
    static func error(_ error: APIError, headers: HTTPFields = [:]) -> Response {
        json(.object([("error", .string(error.message))]), status: error.status, headers: headers)
    }

    /// A listing page: `{"items": […], "next_cursor": …}`, `next_cursor` `null` on the last page.
    static func page(_ items: [JSONValue], nextCursor: String?) -> Response {
        json(.object([("items", .array(items)), ("next_cursor", nextCursor.map(JSONValue.string) ?? .null)]))
    }
}
