import FuzzSupport
@testable import TributaryCore
import TributaryProviders
import TributaryUpstream

/// The page parser: a fuzzed API response (headers, blank line, body) read by every polled resource
/// of every real manifest, then the cursor moved past it and the next request built, as the poller does.
@main
enum FuzzPage {
    static let resources: [(PollResource, UpstreamClient)] = Fuzz.providers.flatMap { provider in
        Fuzz.client(for: provider.manifest).map { client in provider.pollResources.map { ($0, client) } } ?? []
    }

    static func main() {
        let now = Fuzz.now * 1_000_000
        Fuzz.run { bytes in
            let input = FuzzRequest(bytes)
            let response = UpstreamResponse(status: 200, headers: input.request.headers, body: input.request.body)
            for (resource, client) in resources {
                _ = RateLimitSignals.parse(status: 429, header: { response.header($0) }, names: client.signalNames, now: now)
                guard let page = try? resource.parse(response, connection: "c1", tenant: "t1", requestedAt: now, receivedAt: now) else { continue }
                let machine = resource.machine
                for start in [PollCursor(), PollCursor(watermark: now - 3_600_000_000, afterId: "1", syncToken: "sync", lastEventId: "evt_0")] {
                    var cursor = machine.begin(start, now: now)
                    for _ in 0..<2 {
                        let step = machine.advance(cursor, page: page.outcome)
                        cursor = step.cursor
                        _ = try? resource.request(for: cursor, client: client, account: "acct_fuzz")
                        if step.done { break }
                    }
                }
            }
        }
    }
}
