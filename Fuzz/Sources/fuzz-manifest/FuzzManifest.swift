import Foundation
import FuzzSupport
@testable import TributaryCore
@testable import TributaryPolling
@testable import TributaryProviders
import Yams

/// The manifest loader on fuzzed YAML: validation never traps, and a manifest it accepts can be used:
/// its verifier and extractor run on a fixture delivery, each polled resource builds its first request.
@main
enum FuzzManifest {
    static let directory: String = {
        let path = NSTemporaryDirectory() + "tributary-fuzz-manifest-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    static let delivery = WebhookRequest(
        method: "POST", url: "https://hooks.example.test/webhooks/fuzz/c1?challenge=x&validationToken=y",
        headers: [("Content-Type", "application/json"), ("X-Signature", "sha256=00"), ("X-Timestamp", "1795000000")],
        body: Array(#"{"id":"evt_1","type":"customer.updated","created":1795000000,"data":{"object":{"id":"cus_1"}}}"#.utf8)
    )

    static func main() {
        Fuzz.run { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            // The catalog insists that the id is the file's name: name the file after the id it holds.
            let file = directory + "/" + fileStem(text) + ".yaml"
            guard FileManager.default.createFile(atPath: file, contents: Data(bytes)) else { fatalError("fuzz: cannot write \(file)") }
            defer { try? FileManager.default.removeItem(atPath: file) }
            guard case .success(let provider) = ManifestCatalog.validate(file: file) else { return }
            use(provider)
        }
    }

    /// The `id:` of a top-level line, when it is a plain file name; else "fuzz".
    static func fileStem(_ text: String) -> String {
        for line in text.split(separator: "\n") where line.hasPrefix("id:") {
            let id = line.dropFirst(3).trimmingCharacters(in: .whitespaces)
            let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_")
            if !id.isEmpty, id.count < 64, id.allSatisfy(allowed.contains) { return id }
        }
        return "fuzz"
    }

    /// The manifest as the catalog would decode it, for the known-bug checks.
    static func decode(_ text: String) -> ProviderManifest? {
        guard let node = try? Yams.compose(yaml: text) else { return nil }
        let json = ManifestCatalog.jsonValue(node)
        return try? JSONDecoder().decode(ProviderManifest.self, from: Data(json.jsonText.utf8))
    }

    static func use(_ provider: Provider) {
        if let verifier = provider.verifier {
            _ = verifier.verify(delivery, secrets: ["fuzz-secret"], now: Fuzz.now)
            if let (signed, secret, now) = Signer.sign(delivery, with: verifier) {
                _ = verifier.verify(signed, secrets: [secret], now: now)
            }
        }
        if let extractor = provider.extractor {
            _ = extractor.extract(delivery)
            if case .success(let elements)? = extractor.elements(delivery) { for element in elements { _ = extractor.extract(element) } }
        }
        guard let client = Fuzz.client(for: provider.manifest) else { return }
        for resource in provider.pollResources {
            let cursor = resource.machine.begin(PollCursor(), now: Fuzz.now * 1_000_000)
            _ = try? resource.request(for: cursor, client: client, account: "acct_fuzz")
            let page = PageOutcome(items: [PageItem(id: "1", updatedAt: Fuzz.now * 1_000_000)], hasMore: true, nextPageToken: "next")
            let step = resource.machine.advance(cursor, page: page)
            _ = try? resource.request(for: step.cursor, client: client, account: "acct_fuzz")
        }
    }
}
