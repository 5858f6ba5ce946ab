/// Every error the simulator's library API throws: a code to match on, and one sentence for people.
///
/// Configuration problems are found when the simulator is built (``ProviderSimulator/init(configuration:clock:logger:)``),
/// so a bad flag never surfaces mid-run and a refused webhook target is never contacted.
public struct SimulatorError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String

        /// A configuration value is out of range or malformed; the message names the key.
        public static let invalidConfiguration = Code(name: "invalidConfiguration")
        /// The webhook URL does not point at a loopback address (127.0.0.0/8 or ::1).
        public static let webhookTargetNotLoopback = Code(name: "webhookTargetNotLoopback")
        /// The record type is not one the simulator holds.
        public static let unknownType = Code(name: "unknownType")
        /// No record has this id, or it is deleted and the operation needs a live one.
        public static let unknownRecord = Code(name: "unknownRecord")

        public var description: String { name }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func configuration(_ key: String, _ reason: String) -> SimulatorError {
        SimulatorError(.invalidConfiguration, "\(key): \(reason)")
    }
}
