import Foundation
public import TributaryCore
import TributaryDelivery
import TributaryStore
import TributaryUpstream

extension Admin {
    /// What `destinations add` is given.
    public struct NewDestination: Sendable {
        public var id: String?
        public var url: String
        public var tenant: String?
        public var connection: String?
        public var kinds: [Destination.Kind]
        public var recordTypes: [String]
        /// Whether private and loopback addresses may be reached (the upstreams' setting).
        public var allowPrivate: Bool
        /// What the URL is called in an error: the CLI's `--url`, the API's `url`.
        public var urlField = "--url"

        public init(
            id: String?, url: String, tenant: String?, connection: String?, kinds: [Destination.Kind], recordTypes: [String], allowPrivate: Bool
        ) {
            self.id = id
            self.url = url
            self.tenant = tenant
            self.connection = connection
            self.kinds = kinds
            self.recordTypes = recordTypes
            self.allowPrivate = allowPrivate
        }
    }

    /// Refuses a URL that could never be delivered to, before anything is stored or connected: not an
    /// absolute http(s) URL, credentials in it, or a host that is a literal address the outbound guard
    /// refuses (link-local such as the cloud metadata service `169.254.169.254` always; private and
    /// loopback unless `allowPrivate`). A name is resolved and checked at each delivery instead.
    public static func checkDestinationURL(_ url: String, allowPrivate: Bool, field: String = "--url") throws(OperationError) {
        guard url.utf8.count <= 2048, let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = components.host, !host.isEmpty else {
            throw .usage("\(field) must be an absolute http(s) URL such as https://app.example.com/webhooks/tributary, not \"\(url.prefix(200))\"")
        }
        guard components.user == nil, components.password == nil else {
            throw .usage("\(field) must not hold credentials (user:password@); the receiver verifies the signature instead")
        }
        guard components.fragment == nil else { throw .usage("\(field) must not hold a #fragment, which is never sent") }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let address = OutboundGuard.literalAddress(bare) {
            let kind = OutboundGuard.classify(address)
            switch kind {
            case .global: break
            case .private, .loopback:
                if allowPrivate { break }
                throw .usage("\(field) \(host) is a \(kind.rawValue) address, which deliveries may not reach unless --allow-private-upstreams (or TRIBUTARY_ALLOW_PRIVATE_UPSTREAMS=1) allows private addresses")
            default:
                throw .usage("\(field) \(host) is a \(kind.rawValue) address, which deliveries never reach (a cloud metadata service answers at 169.254.169.254)")
            }
        }
    }

    /// Adds a destination with a new signing secret.
    /// - Returns: the destination and its secret, which is shown this once.
    public func addDestination(_ new: NewDestination) async throws(OperationError) -> (Destination, secret: String) {
        try Self.checkDestinationURL(new.url, allowPrivate: new.allowPrivate, field: new.urlField)
        let id = new.id ?? "dest_" + String(Self.generatedID().dropFirst("conn_".count))
        guard id.range(of: "^[A-Za-z0-9_.-]{1,128}$", options: .regularExpression) != nil else {
            throw .usage("destination id \"\(id)\" may use only letters, digits, '_', '.', '-' (1–128 characters)")
        }
        guard !new.kinds.isEmpty else { throw .usage("--types names no message type; the types are \(Destination.Kind.allCases.map(\.rawValue).joined(separator: ", "))") }
        if let connection = new.connection {
            let found = try await run { () async throws(StoreError) in try await store.connection(id: connection) }
            guard found != nil else { throw .usage("no connection \(connection)") }
        }
        let secret = StandardWebhooks.newSecret()
        let destination = try await run(usage: [.conflict]) { () async throws(StoreError) in
            try await store.addDestination(
                id: id, url: new.url, tenant: new.tenant, connection: new.connection, kinds: new.kinds, recordTypes: new.recordTypes, secret: secret, now: now()
            )
        }
        return (destination, secret)
    }

    public func destinations() async throws(OperationError) -> [(destination: Destination, pending: Int, dead: Int)] {
        try await run { () async throws(StoreError) in
            let counts = try await store.deliveryCounts()
            return try await store.destinations().map { ($0, counts[$0.id]?.pending ?? 0, counts[$0.id]?.dead ?? 0) }
        }
    }

    /// The delivery lag of the last hour and the age of the oldest pending delivery (see ``Store/deliveryLag(destination:since:now:)``).
    public func deliveryLag(destination: String) async throws(OperationError) -> (p50: Int64?, p99: Int64?, delivered: Int, oldestPending: Int64?) {
        let at = now()
        return try await run { () async throws(StoreError) in try await store.deliveryLag(destination: destination, since: at - 3_600_000_000, now: at) }
    }

    /// The destination `id`, or `nil`.
    func destinationIfAny(id: String) async throws(OperationError) -> Destination? {
        try await run { () async throws(StoreError) in try await store.destination(id: id) }
    }

    public func destination(id: String) async throws(OperationError) -> Destination {
        let found = try await run { () async throws(StoreError) in try await store.destination(id: id) }
        guard let found else { throw .failure("no destination \(id)") }
        return found
    }

    public func setDestinationState(id: String, _ state: Destination.State) async throws(OperationError) {
        try await run { () async throws(StoreError) in
            try await store.setDestinationState(id: id, state, reason: state == .paused ? "paused by the operator" : nil, now: now())
        }
    }

    /// A new signing secret; the old ones keep signing beside it until `retireOld` (then only the new one).
    public func rotateDestinationSecret(id: String, retireOld: Bool) async throws(OperationError) -> String? {
        let secret = retireOld ? nil : StandardWebhooks.newSecret()
        try await run { () async throws(StoreError) in
            if let secret { try await store.addDestinationSecret(id: id, secret: secret, now: now()) } else { try await store.retireOlderDestinationSecrets(id: id, now: now()) }
        }
        return secret
    }

    public func removeDestination(id: String) async throws(OperationError) -> Int {
        try await run { () async throws(StoreError) in try await store.removeDestination(id: id) }
    }

    public func deliveries(destination: String?, status: Delivery.Status?, limit: Int) async throws(OperationError) -> [Delivery] {
        try await run { () async throws(StoreError) in try await store.deliveries(destination: destination, status: status, limit: limit) }
    }

    public func delivery(id: Int64) async throws(OperationError) -> Delivery {
        let found = try await run { () async throws(StoreError) in try await store.delivery(id: id) }
        guard let found else { throw .failure("no delivery \(id)") }
        return found
    }

    /// Queues the mirror's records changed since `since` (or from a log sequence after `afterSeq`) again for `destination`.
    public func replayDeliveries(destination: String, since: Int64?, afterSeq: Int64?) async throws(OperationError) -> Int {
        guard (since == nil) != (afterSeq == nil) else { throw .usage("give --since TIME or --after SEQ, one of them") }
        return try await run(usage: [.notFound]) { () async throws(StoreError) in
            try await store.replayDeliveries(destination: destination, since: since, afterSeq: afterSeq, now: now())
        }
    }

    public func retryDeliveries(ids: [Int64], destination: String?) async throws(OperationError) -> Int {
        try await run(usage: [.notFound]) { () async throws(StoreError) in try await store.retryDeliveries(ids: ids, destination: destination, now: now()) }
    }
}
