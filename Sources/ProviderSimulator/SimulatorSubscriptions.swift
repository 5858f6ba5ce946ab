import Synchronization
import TributaryCore

/// The simulator's webhook subscription API (`/v1/subscriptions`), shaped like Microsoft Graph's:
/// created with a callback URL, a secret and a requested expiry that the provider caps, renewed with
/// PATCH, deleted with DELETE, and gone once expired (a PATCH then answers 404).
public struct SimulatorSubscription: Sendable, Equatable {
    public var id: String
    public var url: String
    public var secret: String?
    /// Microseconds since the epoch.
    public var expiresAt: Int64
    public var renewals: Int
}

final class SimulatorSubscriptions: Sendable {
    struct State {
        var items: [String: SimulatorSubscription] = [:]
        var next = 0
        var created = 0
        var renewed = 0
    }

    /// The longest life the provider grants, in seconds (Graph: 4230 minutes for most resources).
    let maxSeconds: Int64
    private let state = Mutex(State())

    init(maxSeconds: Int64) {
        self.maxSeconds = maxSeconds
    }

    func all(now: Int64) -> [SimulatorSubscription] {
        state.withLock { $0.items.values.filter { $0.expiresAt > now }.sorted { $0.id < $1.id } }
    }

    var created: Int { state.withLock { $0.created } }
    var renewed: Int { state.withLock { $0.renewed } }

    func expireAll() {
        state.withLock { state in for id in state.items.keys { state.items[id]?.expiresAt = 0 } }
    }

    /// `POST /v1/subscriptions` with `{"url","secret","expires_at"}`.
    func create(_ body: JSONValue?, now: Int64) -> (Int, String) {
        guard let url = body?["url"]?.stringValue, url.hasPrefix("http"), let requested = body?["expires_at"]?.stringValue.flatMap({ Timestamp.microseconds(rfc3339: $0) }) else {
            return (400, #"{"error":"invalid_subscription"}"#)
        }
        guard requested > now else { return (400, #"{"error":"expiry_in_the_past"}"#) }
        let expiresAt = min(requested, now + maxSeconds * 1_000_000)
        let item = state.withLock { state -> SimulatorSubscription in
            state.next += 1
            state.created += 1
            let item = SimulatorSubscription(id: "sub_\(state.next)", url: url, secret: body?["secret"]?.stringValue, expiresAt: expiresAt, renewals: 0)
            state.items[item.id] = item
            return item
        }
        return (201, Self.json(item))
    }

    /// `PATCH /v1/subscriptions/{id}` with `{"expires_at"}`: 404 once it expired or was deleted.
    func renew(id: String, _ body: JSONValue?, now: Int64) -> (Int, String) {
        guard let requested = body?["expires_at"]?.stringValue.flatMap({ Timestamp.microseconds(rfc3339: $0) }), requested > now else {
            return (400, #"{"error":"invalid_expiry"}"#)
        }
        return state.withLock { state in
            guard var item = state.items[id], item.expiresAt > now else {
                state.items[id] = nil
                return (404, #"{"error":"not_found"}"#)
            }
            item.expiresAt = min(requested, now + maxSeconds * 1_000_000)
            item.renewals += 1
            state.renewed += 1
            state.items[id] = item
            return (200, Self.json(item))
        }
    }

    func delete(id: String) -> Int {
        state.withLock { $0.items.removeValue(forKey: id) == nil ? 404 : 204 }
    }

    static func json(_ item: SimulatorSubscription) -> String {
        #"{"id":"\#(item.id)","url":\#(JSONValue.string(item.url).jsonText),"expires_at":"\#(Timestamp.rfc3339(microseconds: item.expiresAt))"}"#
    }
}
