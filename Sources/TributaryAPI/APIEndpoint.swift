public import HTTPTypes

/// Every route of the `/v1` API: the single table that registration, the handler switch and the
/// OpenAPI conformance test all read.
///
/// Adding a case registers a route (``APIRoutes/add(to:)`` walks `allCases`) and fails to compile
/// until the handler switch answers it; the test then fails until `Schemas/openapi.yaml` documents it.
public enum APIEndpoint: String, CaseIterable, Sendable {
    case records
    case record
    case events
    case status
    case changes
    case destinations
    case deliveries

    /// The HTTP method (all of `/v1` is read-only today).
    public var method: HTTPRequest.Method {
        switch self {
        case .records, .record, .events, .status, .changes, .destinations, .deliveries: .get
        }
    }

    /// The path template, in the `{name}` syntax that both Hummingbird and OpenAPI use.
    public var path: String {
        switch self {
        case .records: "/v1/records"
        case .record: "/v1/records/{connection}/{type}/{id}"
        case .events: "/v1/events"
        case .status: "/v1/status"
        case .changes: "/v1/changes"
        case .destinations: "/v1/destinations"
        case .deliveries: "/v1/deliveries"
        }
    }
}
