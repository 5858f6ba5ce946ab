public import Foundation

/// The kit's fixture files (`Fixtures/`): signed vectors, canned provider API responses.
public enum Fixture {
    /// `Fixtures/<subdirectory>/<name>.<ext>`, if the kit holds it.
    public static func url(_ name: String, extension ext: String, in subdirectory: String) -> URL? {
        Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures/" + subdirectory)
    }
}
