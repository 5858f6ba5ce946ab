/// One change the simulator made: what happened, the record's new version, and the event that announces it.
public struct SimulatorChange: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case created, updated, deleted
    }

    public let kind: Kind
    /// The record right after the change (a tombstone for `deleted`).
    public let record: SimulatorRecord
    /// The id of the change's event in `/v1/events`, also its webhook's `webhook-id`.
    public let eventID: String

    /// `customer.created`, `customer.updated`, `customer.deleted`.
    public var eventType: String { record.type + "." + kind.rawValue }
}
