public import Foundation
public import TributaryTesting

extension TestPaths {
    /// The built `tributary` executable, beside the test bundle (override with `TRIBUTARY_BIN`).
    public static var tributaryBinary: String {
        if let override = ProcessInfo.processInfo.environment["TRIBUTARY_BIN"] { return override }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // On Linux the runner is `<bin>/tributaryPackageTests.xctest`; with bundles it may be nested deeper.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("tributary").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return repositoryRoot.appendingPathComponent(".build/debug/tributary").path
    }

    /// A `tributary` child process (not yet started) with `arguments`, the master key, and logs at
    /// `error` unless `LOG_LEVEL` says otherwise.
    public static func tributaryProcess(_ arguments: [String], masterKey: String) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tributaryBinary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["TRIBUTARY_MASTER_KEY"] = masterKey
        environment["LOG_LEVEL"] = environment["LOG_LEVEL"] ?? "error"
        process.environment = environment
        return process
    }
}
