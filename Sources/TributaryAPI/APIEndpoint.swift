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
    case destination
    case addDestination
    case removeDestination
    case pauseDestination
    case resumeDestination
    case rotateDestinationSecret
    case replayDeliveries
    case deliveries
    case retryDeliveries
    case dashboardLink

    /// The HTTP method.
    public var method: HTTPRequest.Method {
        switch self {
        case .records, .record, .events, .status, .changes, .destinations, .destination, .deliveries: .get
        case .addDestination, .pauseDestination, .resumeDestination, .rotateDestinationSecret, .replayDeliveries, .retryDeliveries, .dashboardLink: .post
        case .removeDestination: .delete
        }
    }

    /// Whether the route changes something (and so takes a JSON body, and needs the service's administration).
    public var writes: Bool { method != .get }

    /// The path template, in the `{name}` syntax that both Hummingbird and OpenAPI use.
    public var path: String {
        switch self {
        case .records: "/v1/records"
        case .record: "/v1/records/{connection}/{type}/{id}"
        case .events: "/v1/events"
        case .status: "/v1/status"
        case .changes: "/v1/changes"
        case .destinations, .addDestination: "/v1/destinations"
        case .destination, .removeDestination: "/v1/destinations/{id}"
        case .pauseDestination: "/v1/destinations/{id}/pause"
        case .resumeDestination: "/v1/destinations/{id}/resume"
        case .rotateDestinationSecret: "/v1/destinations/{id}/rotate-secret"
        case .replayDeliveries: "/v1/destinations/{id}/replay"
        case .deliveries: "/v1/deliveries"
        case .retryDeliveries: "/v1/deliveries/retry"
        case .dashboardLink: "/v1/ui/login-links"
        }
    }
}
