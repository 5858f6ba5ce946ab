import Foundation
public import Logging

/// How a one-shot command (`poll`, `reconcile`, `connections …`) logs: one plain line per event on
/// stderr, `tributary: warning: message (key=value …)`, for a person at a terminal or a cron mail.
/// Its summary goes to stdout, once; these lines only say what went wrong or why it waits.
public struct CommandLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(logLevel: Logger.Level) {
        self.logLevel = logLevel
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let details = merged.isEmpty ? "" : " (" + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + ")"
        FileHandle.standardError.write(Data("tributary: \(event.level): \(event.message)\(details)\n".utf8))
    }
}

extension EngineConfiguration {
    /// One-shot commands log through ``CommandLogHandler`` at `LOG_LEVEL` (default notice: warnings,
    /// retries and takeovers, not every run's figures, which the command prints once on stdout).
    /// Call once, before the first logger is made.
    public static func bootstrapCommandLogging(environment: [String: String]) {
        let level = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .notice
        LoggingSystem.bootstrap { _ in CommandLogHandler(logLevel: level) }
    }

    /// `LOG_LEVEL`, when set, must name a level: every command checks it before it opens anything.
    public static func checkLogLevel(environment: [String: String]) throws(ConfigurationError) {
        if let level = environment["LOG_LEVEL"], !level.isEmpty, Logger.Level(rawValue: level) == nil {
            throw ConfigurationError("LOG_LEVEL must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(level)\"")
        }
    }
}
