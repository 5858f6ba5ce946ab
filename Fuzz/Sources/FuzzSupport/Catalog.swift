import Foundation
@testable import TributaryProviders

extension Fuzz {
    /// The real manifests of `Providers/`, loaded once; a target that cannot load them stops at once.
    public static let providers: [Provider] = {
        do {
            let catalog = try ManifestCatalog.load(directory: root + "/Providers")
            return catalog.providers.values.sorted { $0.id < $1.id }
        } catch {
            fatalError("fuzz: cannot load \(root)/Providers: \(error)")
        }
    }()
}
