import Foundation
import HTTPTypes
import HummingbirdTesting
import ProviderSimulator
import Testing
import TributaryCore
import TributaryIntegrationTesting

/// The provider simulator's data, cursor styles and control plane, against the live server.
@Suite("Simulator")
struct SimulatorTests {
    @Test("SplitMix64 gives the reference sequence")
    func splitMixVector() {
        var random = SplitMix64(seed: 0)
        #expect(random.next() == 0xE220_A839_7B1D_CDAF)
        #expect(random.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(random.next() == 0x06C4_5D18_8009_454F)
    }

    @Test("the same seed gives the same records and changes; another seed does not")
    func reproducible() throws {
        func run(seed: UInt64) throws -> (changes: [SimulatorChange], state: String) {
            let simulator = try SimulatorHarness.make { $0.seed = seed }
            let changes = simulator.mutate(count: 300)
            return (changes, simulator.stateJSONText())
        }
        let first = try run(seed: 42)
        let second = try run(seed: 42)
        #expect(first.changes == second.changes)
        #expect(first.state == second.state)
        let other = try run(seed: 43)
        #expect(other.state != first.state)
        let kinds = Set(first.changes.map(\.kind))
        #expect(kinds == [.created, .updated, .deleted])
    }

    @Test("changes bump versions, deletions leave tombstones stamped with the deletion time")
    func versionsAndTombstones() throws {
        let clock = ManualSimulatorClock()
        let simulator = try SimulatorHarness.make(clock: clock)
        let id = "cus_000001"
        #expect(simulator.record(type: "customer", id: id)?.version == 1)
        clock.advance(seconds: 5)
        let updated = try simulator.update(type: "customer", id: id)
        #expect(updated.record.version == 2)
        clock.advance(seconds: 5)
        let deleted = try simulator.delete(type: "customer", id: id)
        #expect(deleted.record.version == 3 && deleted.record.deleted)
        #expect(deleted.record.updatedAt == clock.nowMicroseconds())
        #expect(deleted.eventType == "customer.deleted")
        #expect(throws: SimulatorError.self) { try simulator.update(type: "customer", id: id) }
        #expect(simulator.records().contains { $0.id == id && $0.deleted })
    }

    @Test("timestamp + keyset paging sees every record, with equal timestamps across pages", arguments: [0, 1])
    func timestampKeyset(repeatAtBoundary: Int) async throws {
        let simulator = try SimulatorHarness.make {
            $0.granularity = .seconds
            $0.initialRecordsPerType = 20
            $0.chaos.repeatAtBoundary = repeatAtBoundary
        }
        // The clock does not move: all 200 changes share one second.
        simulator.mutate(count: 200)
        let truth = SimulatorHarness.truth(simulator, type: "customer")
        let timestamps = Set(simulator.records().filter { $0.type == "customer" }.map(\.updatedAt))
        #expect(timestamps.count * 4 < truth.count, "expected many records per timestamp")
        try await SimulatorHarness.live(simulator) { client async throws in
            var seen: [String: Int] = [:]
            var path: String? = "/v1/customer?limit=2"
            var pages = 0
            var previousLast: JSONValue?
            while let current = path, pages < 1_000 {
                let response = try await client.simGet(current)
                #expect(response.status == .ok)
                let items = response.items
                #expect(items.count <= 2)
                if repeatAtBoundary > 0, pages > 0 {
                    #expect(items.first == previousLast, "a continuation page starts with the previous page's last item")
                }
                SimulatorHarness.apply(items, to: &seen)
                previousLast = items.last
                let hasMore = response.json?["has_more"] == .bool(true)
                path = SimulatorHarness.nextLink(response.headers)
                #expect(hasMore == (path != nil))
                pages += 1
            }
            #expect(path == nil, "paging ended")
            #expect(seen == truth)
        }
    }

    @Test("a since-only cursor (no after_id) stalls on a page of equal timestamps: the trap the keyset avoids")
    func sinceOnlyStalls() async throws {
        let simulator = try SimulatorHarness.make { $0.granularity = .seconds }
        simulator.mutate(count: 50)
        try await SimulatorHarness.live(simulator) { client async throws in
            var since = "1970-01-01T00:00:00Z"
            var stalled = false
            for _ in 0..<50 {
                let response = try await client.simGet("/v1/customer?updated_since=\(since)&limit=2")
                guard let last = response.items.last?["updated_at"]?.stringValue, response.json?["has_more"] == .bool(true) else { break }
                if last == since { stalled = true; break }
                since = last
            }
            #expect(stalled)
        }
    }

    @Test("page-token paging lists every record by id, tombstones only when asked", arguments: [(false, 0), (true, 0), (true, 2)])
    func pageTokens(includeDeleted: Bool, repeatAtBoundary: Int) async throws {
        let simulator = try SimulatorHarness.make {
            $0.initialRecordsPerType = 15
            $0.chaos.repeatAtBoundary = repeatAtBoundary
        }
        simulator.mutate(count: 120)
        let truth = SimulatorHarness.truth(simulator, type: "ticket", includeDeleted: includeDeleted)
        try await SimulatorHarness.live(simulator) { client async throws in
            var seen: [String: Int] = [:]
            var token: String?
            var ids: [String] = []
            repeat {
                let path = "/v1/ticket/pages?limit=4&include_deleted=\(includeDeleted)" + (token.map { "&page_token=\($0)" } ?? "")
                let response = try await client.simGet(path)
                #expect(response.status == .ok)
                #expect(response.items.count <= 4)
                SimulatorHarness.apply(response.items, to: &seen)
                ids += response.items.compactMap { $0["id"]?.stringValue }
                token = response.json?["next_page_token"]?.stringValue
            } while token != nil
            #expect(seen == truth)
            let unique = Array(Set(ids)).sorted()
            #expect(ids.count - unique.count >= (repeatAtBoundary > 0 ? 1 : 0))
            if repeatAtBoundary == 0 { #expect(ids == unique, "without chaos, ids come once and ascending") }
        }
    }

    @Test("sync tokens: a full enumeration, then only the changes since, deletions included")
    func syncTokens() async throws {
        let simulator = try SimulatorHarness.make()
        try await SimulatorHarness.live(simulator) { client async throws in
            func drain(_ start: String) async throws -> (seen: [JSONValue], sync: String) {
                var items: [JSONValue] = []
                var path = start
                while true {
                    let response = try await client.simGet(path)
                    #expect(response.status == .ok)
                    items += response.items
                    if let next = response.json?["next_page_token"]?.stringValue {
                        #expect(response.json?["sync_token"] == .null)
                        path = "/v1/customer/delta?limit=3&page_token=\(next)"
                    } else {
                        return (items, try #require(response.json?["sync_token"]?.stringValue))
                    }
                }
            }
            var local: [String: JSONValue] = [:]
            func applyDelta(_ items: [JSONValue]) {
                for item in items {
                    guard let id = item["id"]?.stringValue else { continue }
                    if item["deleted"] == .bool(true) { local[id] = nil } else { local[id] = item }
                }
            }
            simulator.mutate(count: 30)
            let full = try await drain("/v1/customer/delta?limit=3")
            #expect(full.seen.allSatisfy { $0["deleted"] == .bool(false) })
            applyDelta(full.seen)
            let live = simulator.records().filter { $0.type == "customer" && !$0.deleted }
            #expect(Set(local.keys) == Set(live.map(\.id)))

            let changes = simulator.mutate(count: 60).filter { $0.record.type == "customer" }
            #expect(changes.contains { $0.kind == .deleted })
            let delta = try await drain("/v1/customer/delta?limit=3&sync_token=\(full.sync)")
            #expect(Set(delta.seen.compactMap { $0["id"]?.stringValue }) == Set(changes.map(\.record.id)))
            applyDelta(delta.seen)
            let liveNow = simulator.records().filter { $0.type == "customer" && !$0.deleted }
            #expect(local.mapValues { $0["version"]?.int64Value } == Dictionary(uniqueKeysWithValues: liveNow.map { ($0.id, Int64($0.version)) }))

            let quiet = try await drain("/v1/customer/delta?limit=3&sync_token=\(delta.sync)")
            #expect(quiet.seen.isEmpty)
        }
    }

    @Test("a sync token older than its lifetime, or than the change limit, answers 410 sync_token_expired")
    func syncTokenExpiry() async throws {
        let clock = ManualSimulatorClock()
        let simulator = try SimulatorHarness.make(clock: clock) {
            $0.syncTokenLifetimeSeconds = 60
            $0.syncTokenMaxChanges = 5
            $0.initialRecordsPerType = 2
        }
        try await SimulatorHarness.live(simulator) { client async throws in
            let first = try await client.simGet("/v1/customer/delta?limit=100")
            let token = try #require(first.json?["sync_token"]?.stringValue)
            clock.advance(seconds: 60)
            #expect(try await client.simGet("/v1/customer/delta?sync_token=\(token)").status == .ok)
            clock.advance(seconds: 1)
            let expired = try await client.simGet("/v1/customer/delta?sync_token=\(token)")
            #expect(expired.status == .gone)
            #expect(expired.json?["error"] == .string("sync_token_expired"))

            let fresh = try #require(try await client.simGet("/v1/customer/delta?limit=100").json?["sync_token"]?.stringValue)
            simulator.mutate(count: 6)
            #expect(try await client.simGet("/v1/customer/delta?sync_token=\(fresh)").status == .gone)
            #expect(try await client.simGet("/v1/customer/delta?sync_token=garbage").status == .badRequest)
            #expect(try await client.simGet("/v1/ticket/delta?sync_token=\(fresh)").status == .badRequest, "a token of another type")
        }
    }

    @Test("event-id paging sees every change in order; a cursor past retention answers 400 event_expired")
    func events() async throws {
        let clock = ManualSimulatorClock()
        let simulator = try SimulatorHarness.make(clock: clock) { $0.eventRetentionSeconds = 600 }
        simulator.mutate(count: 80)
        let truth = Dictionary(uniqueKeysWithValues: simulator.records().map { ("\($0.type)/\($0.id)", $0.version) })
        try await SimulatorHarness.live(simulator) { client async throws in
            var latest: [String: Int] = [:]
            var ids: [Int64] = []
            var after: String?
            var hasMore = true
            while hasMore {
                let response = try await client.simGet("/v1/events?limit=7" + (after.map { "&starting_after=\($0)" } ?? ""))
                #expect(response.status == .ok)
                guard case .array(let data)? = response.json?["data"] else { Issue.record("no data"); return }
                for event in data {
                    let object = try #require(event["data"]?["object"])
                    let type = try #require(object["type"]?.stringValue)
                    #expect(event["type"]?.stringValue?.hasPrefix(type + ".") == true)
                    latest["\(type)/\(object["id"]?.stringValue ?? "")"] = Int(object["version"]?.int64Value ?? 0)
                    ids.append(try #require(event["id"]?.stringValue.flatMap { Int64($0.dropFirst(4)) }))
                }
                after = data.last?["id"]?.stringValue
                hasMore = response.json?["has_more"] == .bool(true)
            }
            #expect(ids == Array(1...Int64(ids.count)), "ascending, without gaps")
            #expect(latest == truth)

            clock.advance(seconds: 601)
            simulator.mutate(count: 1)
            let expired = try await client.simGet("/v1/events?starting_after=evt_000005")
            #expect(expired.status == .badRequest)
            #expect(expired.json?["error"] == .string("event_expired"))
            let last = try #require(after)
            let tail = try await client.simGet("/v1/events?starting_after=\(last)")
            guard case .array(let rest)? = tail.json?["data"] else { Issue.record("no data"); return }
            #expect(rest.count == 1, "the one change made after the last page")
        }
    }

    @Test("fetch-one answers the record, then 404 once deleted (410 when configured)", arguments: [
        SimulatorConfiguration.DeletedFetchStatus.notFound, .gone,
    ])
    func fetchOne(deleted status: SimulatorConfiguration.DeletedFetchStatus) async throws {
        let simulator = try SimulatorHarness.make { $0.deletedFetchStatus = status }
        try await SimulatorHarness.live(simulator) { client async throws in
            let live = try await client.simGet("/v1/ticket/tkt_000003")
            #expect(live.status == .ok)
            #expect(live.json?["id"] == .string("tkt_000003"))
            try simulator.delete(type: "ticket", id: "tkt_000003")
            #expect(try await client.simGet("/v1/ticket/tkt_000003").status.code == status.rawValue)
            #expect(try await client.simGet("/v1/ticket/tkt_999999").status == .notFound)
            #expect(try await client.simGet("/v1/nope/tkt_000001").status == .notFound)
        }
    }

    @Test("requests without the bearer token are 401 and counted")
    func unauthorized() async throws {
        let simulator = try SimulatorHarness.make()
        try await SimulatorHarness.live(simulator) { client async throws in
            #expect(try await client.simGet("/v1/customer", token: nil).status == .unauthorized)
            #expect(try await client.simGet("/v1/customer", token: "wrong").status == .unauthorized)
            #expect(try await client.simGet("/v1/customer").status == .ok)
            let counters = simulator.counters()
            #expect(counters.requests == 3 && counters.unauthorized == 2)
        }
    }

    @Test("chaos 5xx answers 500 or 503 and counts them")
    func serverErrors() async throws {
        let simulator = try SimulatorHarness.make { $0.chaos.serverErrorFraction = 1 }
        try await SimulatorHarness.live(simulator) { client async throws in
            var statuses = Set<Int>()
            for _ in 0..<20 { statuses.insert(try await client.simGet("/v1/customer").status.code) }
            #expect(statuses == [500, 503])
            #expect(simulator.counters().serverErrors == 20)
        }
    }

    @Test("added latency delays answers by at least the configured time")
    func latency() async throws {
        let simulator = try SimulatorHarness.make { $0.chaos.latencyMilliseconds = 80...80 }
        try await SimulatorHarness.live(simulator) { client async throws in
            let clock = ContinuousClock()
            let started = clock.now
            #expect(try await client.simGet("/v1/customer?limit=1").status == .ok)
            #expect(clock.now - started >= .milliseconds(80))
        }
    }

    @Test("the control plane: state, counters, deterministic steps, the background loop started and stopped over HTTP", .timeLimit(.minutes(1)))
    func controlPlane() async throws {
        let simulator = try SimulatorHarness.make()
        try await SimulatorHarness.live(simulator) { client async throws in
            let state = try await client.send("/_sim/state", method: .get, headers: [:], body: "")
            guard case .array(let records)? = state.json?["records"] else { Issue.record("no records"); return }
            #expect(records.count == 20)
            #expect(records.map { "\($0["type"]?.stringValue ?? "")/\($0["id"]?.stringValue ?? "")" } == simulator.records().map { "\($0.type)/\($0.id)" })

            let step = try await client.send("/_sim/mutate?count=5", method: .post, headers: [:], body: "")
            #expect(step.json?["count"] == .number("5"))
            #expect(simulator.counters().changes == 25)

            _ = try await client.simGet("/v1/customer")
            #expect(simulator.counters().requests == 1)
            _ = try await client.send("/_sim/reset-counters", method: .post, headers: [:], body: "")
            #expect(simulator.counters().requests == 0)
            #expect(simulator.counters().changes == 25, "change totals are not reset")

            let started = try await client.send("/_sim/mutations", method: .post, headers: [:], body: #"{"running":true,"rate":1000}"#)
            #expect(started.json?["running"] == .bool(true))
            await simulator.waitForChanges(atLeast: 45)
            let stopped = try await client.send("/_sim/mutations", method: .post, headers: [:], body: #"{"running":false}"#)
            #expect(stopped.json?["running"] == .bool(false))
            #expect(simulator.mutationRate == nil)
            let status = try await client.send("/_sim/mutations", method: .get, headers: [:], body: "")
            #expect(status.json?["running"] == .bool(false))
            #expect(try await client.send("/_sim/mutations", method: .post, headers: [:], body: "{}").status == .badRequest)
        }
    }

    @Test("bad configuration is refused with the key named")
    func configurationErrors() {
        func refused(_ configure: (inout SimulatorConfiguration) -> Void) -> String? {
            do {
                _ = try SimulatorHarness.make(configure)
                return nil
            } catch let error as SimulatorError {
                #expect(error.code == .invalidConfiguration)
                return error.message
            } catch {
                Issue.record("unexpected error \(error)")
                return nil
            }
        }
        #expect(refused { $0.types = ["events"] }?.hasPrefix("types") == true)
        #expect(refused { $0.types = ["Customer"] }?.hasPrefix("types") == true)
        #expect(refused { $0.rateLimit = .init(requestsPerSecond: 0, burst: 1) }?.hasPrefix("rateLimit") == true)
        #expect(refused { $0.chaos.rateLimitFraction = 1.5 }?.hasPrefix("chaos.rateLimitFraction") == true)
        #expect(refused { $0.mutationWeights = .init(create: 0, update: 1, delete: 1) }?.hasPrefix("mutationWeights") == true)
    }
}
