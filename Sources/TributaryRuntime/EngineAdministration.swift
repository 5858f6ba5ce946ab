import TributaryAPI
import TributaryCore
import Logging

/// `/v1`'s write routes, done by ``Admin`` as the CLI's commands do them: a command's fault (`usage`)
/// is the client's 400, a system's is a 503 the log explains.
struct EngineAdministration: APIAdministration {
    let admin: Admin
    /// The upstreams' setting: whether a destination may be a private or loopback address.
    let allowPrivate: Bool
    let logger: Logger
    /// The dashboard's logins, for the one-time links.
    let sessions: DashboardSessions

    func dashboardLink(next: String) -> (path: String, expiresAt: Int64) {
        let (nonce, expiresAt) = sessions.issueLink()
        return ("/ui/login/once?nonce=\(nonce)&next=\(PercentEncoding.encode(next))", expiresAt)
    }

    func addDestination(_ request: DestinationRequest) async throws(APIError) -> (Destination, secret: String) {
        if let id = request.id, try await answer({ () async throws(OperationError) in try await admin.destinationIfAny(id: id) }) != nil {
            throw APIError.conflict("a destination \(id) already exists; remove it first or choose another id.")
        }
        var new = Admin.NewDestination(
            id: request.id, url: request.url, tenant: request.tenant, connection: request.connection, kinds: request.kinds,
            recordTypes: request.recordTypes, allowPrivate: allowPrivate
        )
        new.urlField = "url"
        return try await answer { () async throws(OperationError) in try await admin.addDestination(new) }
    }

    func setDestinationActive(id: String, _ active: Bool) async throws(APIError) {
        try await answer { () async throws(OperationError) in try await admin.setDestinationState(id: id, active ? .active : .paused) }
    }

    func rotateDestinationSecret(id: String, retireOld: Bool) async throws(APIError) -> String? {
        try await answer { () async throws(OperationError) in try await admin.rotateDestinationSecret(id: id, retireOld: retireOld) }
    }

    func removeDestination(id: String) async throws(APIError) -> Int {
        try await answer { () async throws(OperationError) in try await admin.removeDestination(id: id) }
    }

    func replayDeliveries(destination: String, since: Int64?, afterSeq: Int64?) async throws(APIError) -> Int {
        try await answer { () async throws(OperationError) in try await admin.replayDeliveries(destination: destination, since: since, afterSeq: afterSeq) }
    }

    func retryDeliveries(ids: [Int64], destination: String?) async throws(APIError) -> Int {
        try await answer { () async throws(OperationError) in try await admin.retryDeliveries(ids: ids, destination: destination) }
    }

    private func answer<T>(_ body: () async throws(OperationError) -> T) async throws(APIError) -> T {
        do {
            return try await body()
        } catch {
            switch error.kind {
            case .usage:
                throw APIError.badRequest(error.message.hasSuffix(".") ? error.message : error.message + ".")
            case .failure:
                logger.error("an API change failed in the store", metadata: ["error": "\(error.message)"])
                throw APIError.unavailable("the store cannot take the change right now; retry shortly.")
            }
        }
    }
}
