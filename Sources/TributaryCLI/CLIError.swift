/// A failure the CLI reports as one sentence on stderr, with the exit code it implies.
///
/// Exit codes: 1 runtime failure, 2 usage or validation error (DESIGN.md §5).
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32

    static func usage(_ message: String) -> CLIError { CLIError(message: message, exitCode: 2) }
    static func failure(_ message: String) -> CLIError { CLIError(message: message, exitCode: 1) }

    var description: String { message }
}
