/// Why an operator's command could not be done, as one sentence, and whose fault it is: the
/// command's (`usage`: a wrong argument, an unknown id, an invalid manifest; the CLI exits 2) or
/// the system's (`failure`: the database cannot answer, a provider failed; the CLI exits 1).
public struct OperationError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case usage
        case failure
    }

    public var kind: Kind
    public var message: String

    public static func usage(_ message: String) -> OperationError { OperationError(kind: .usage, message: message) }
    public static func failure(_ message: String) -> OperationError { OperationError(kind: .failure, message: message) }

    public var description: String { message }
}
