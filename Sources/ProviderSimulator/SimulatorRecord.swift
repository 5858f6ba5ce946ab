public import TributaryCore

/// One record as the provider holds it, tombstones included.
///
/// Its JSON is rendered once per change and kept, because list endpoints send the same
/// record many times and re-serialising it for every page would make the simulator, not
/// the client, the bottleneck of a benchmark.
public struct SimulatorRecord: Sendable, Equatable {
    public let id: String
    public let type: String
    /// 1 on creation, +1 on every update and on deletion.
    public let version: Int
    /// Microseconds since the epoch, already truncated to the configured granularity.
    public let updatedAt: Int64
    public let deleted: Bool
    /// The record's fields (kept as they were when a record is deleted).
    public let data: JSONValue
    /// The global change number of this version; delta (sync-token) answers select on it.
    let changeSeq: Int64
    /// `{"id":…,"type":…,"version":…,"updated_at":…,"deleted":…,"data":{…}}`.
    public let jsonText: String

    init(id: String, type: String, version: Int, updatedAt: Int64, deleted: Bool, data: JSONValue, changeSeq: Int64,
         granularity: SimulatorConfiguration.Granularity) {
        self.id = id
        self.type = type
        self.version = version
        self.updatedAt = updatedAt
        self.deleted = deleted
        self.data = data
        self.changeSeq = changeSeq
        jsonText = JSONValue.object([
            ("id", .string(id)),
            ("type", .string(type)),
            ("version", .number(String(version))),
            ("updated_at", .string(SimulatorTime.rfc3339(updatedAt, granularity: granularity))),
            ("deleted", .bool(deleted)),
            ("data", data),
        ]).jsonText
    }

    /// The record as JSON.
    public var json: JSONValue {
        // Rendered from our own serialiser, so it always parses.
        JSONValue(parsing: Array(jsonText.utf8)) ?? .null
    }

    /// The keyset the timestamp style sorts and pages by.
    var updateKey: UpdateKey { UpdateKey(updatedAt: updatedAt, id: id) }
}

/// `(updated_at, id)`, ordered lexicographically: the cursor a correct timestamp client keeps.
struct UpdateKey: Comparable, Sendable {
    var updatedAt: Int64
    var id: String

    static func < (lhs: UpdateKey, rhs: UpdateKey) -> Bool {
        lhs.updatedAt != rhs.updatedAt ? lhs.updatedAt < rhs.updatedAt : lhs.id < rhs.id
    }
}
