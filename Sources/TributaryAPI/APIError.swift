public import HTTPTypes

/// The one error type of the API: the status to answer and one sentence naming what is wrong.
///
/// Only these reach a client; a store failure is logged and answered with a fixed sentence.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }
    public static func conflict(_ message: String) -> APIError { APIError(.conflict, message) }
    /// A 503: the store cannot answer now (the route adds `Retry-After`).
    public static func unavailable(_ message: String) -> APIError { APIError(.serviceUnavailable, message) }
}
