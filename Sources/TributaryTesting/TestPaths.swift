public import Foundation

/// Paths of the project's own files and of temporary directories for tests.
public enum TestPaths {
    /// The repository root (found from this source file; tests never read `../shared`).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Providers/` of this repository.
    public static var providers: String { repositoryRoot.appendingPathComponent("Providers").path }

    /// A new empty directory under the system temp dir; the caller removes it.
    public static func temporaryDirectory(_ label: String = "tributary") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
