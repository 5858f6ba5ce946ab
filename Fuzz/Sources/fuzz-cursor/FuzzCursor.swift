import Foundation
import FuzzSupport
@testable import TributaryAPI
import TributaryCore
import TributaryProviders
import TributaryUpstream

/// Cursor decoding: the `/v1/records` cursor a client sends back (base64url JSON), and the poll
/// cursor stored as JSON in the cursor row, which every resource's machine then moves and turns
/// into a request.
@main
enum FuzzCursor {
    static let resources: [(PollResource, UpstreamClient)] = Fuzz.providers.flatMap { provider in
        Fuzz.client(for: provider.manifest).map { client in provider.pollResources.map { ($0, client) } } ?? []
    }

    static let pages = [
        PageOutcome(items: [], hasMore: false),
        PageOutcome(items: [PageItem(id: "b", updatedAt: 1_795_000_000_000_000), PageItem(id: "a", updatedAt: nil)], hasMore: true, nextPageToken: "p2"),
        PageOutcome(items: [PageItem(id: "z", updatedAt: .max), PageItem(id: "", updatedAt: .min)], hasMore: true, syncToken: "s2"),
        // Offset paging: more elements than items read, and a total.
        PageOutcome(items: [PageItem(id: "c", updatedAt: 1_795_000_000_000_000)], hasMore: true, elementCount: 3, total: .max),
    ]

    static func main() {
        Fuzz.run { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            if let key = RecordCursor.decode(text) {
                let again = RecordCursor.decode(RecordCursor.encode(key))
                precondition(again == key, "a decoded record cursor does not survive encode and decode: \(text.debugDescription)")
            }
            guard let cursor = try? JSONDecoder().decode(PollCursor.self, from: Data(bytes)) else { return }
            let encoded = try! JSONEncoder().encode(cursor)
            precondition(try! JSONDecoder().decode(PollCursor.self, from: encoded) == cursor, "a stored cursor does not round-trip")
            for (resource, box) in resources {
                let machine = resource.machine
                let begun = machine.begin(cursor, now: Fuzz.now * 1_000_000)
                _ = try? resource.request(for: begun, client: box, account: "acct_fuzz")
                for page in pages {
                    let step = machine.advance(begun, page: page)
                    _ = try? resource.request(for: step.cursor, client: box, account: "acct_fuzz")
                }
                _ = machine.expire(cursor)
            }
        }
    }
}
