import Foundation
import Logging
import Testing
import TributaryCore
import TributaryIntegrationTesting
import TributaryStore

/// Leases and settings, against every store this run can start (see ``EventLogConformanceTests``).
@Suite("Store conformance: leases and settings")
struct LeaseConformanceTests {
    @Test("a lease: taken, renewed by its holder, refused to others until it expires, taken over only from the holder named, released only by its holder", arguments: StoreKind.available)
    func lifecycle(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let ttl = Duration.seconds(10)
            #expect(try await store.leaseHolder("poll:c1:issues") == nil)
            #expect(try await store.acquireLease("poll:c1:issues", holder: "a", ttl: ttl, now: 1_000))
            let held = try #require(try await store.leaseHolder("poll:c1:issues"))
            #expect(held.holder == "a" && held.expiresAt == 1_000 + ttl.microseconds)
            #expect(try await store.acquireLease("poll:c1:issues", holder: "b", ttl: ttl, now: 2_000) == false, "unexpired: b is refused")
            #expect(try await store.acquireLease("poll:c1:issues", holder: "a", ttl: ttl, now: 3_000), "the holder renews")
            #expect(try await store.leaseHolder("poll:c1:issues")?.expiresAt == 3_000 + ttl.microseconds)
            #expect(try await store.takeOverLease("poll:c1:issues", from: "someone-else", holder: "b", ttl: ttl, now: 4_000) == false)
            #expect(try await store.takeOverLease("poll:c1:issues", from: "a", holder: "b", ttl: ttl, now: 4_000))
            #expect(try await store.leaseHolder("poll:c1:issues")?.holder == "b")
            try await store.releaseLease("poll:c1:issues", holder: "a")
            #expect(try await store.leaseHolder("poll:c1:issues")?.holder == "b", "a no longer holds it, so its release does nothing")
            let expired = 4_000 + ttl.microseconds
            #expect(try await store.acquireLease("poll:c1:issues", holder: "c", ttl: ttl, now: expired), "expired: anyone may take it")
            try await store.releaseLease("poll:c1:issues", holder: "c")
            #expect(try await store.leaseHolder("poll:c1:issues") == nil)
            #expect(try await store.acquireLease("poll:c1:other", holder: "a", ttl: ttl, now: 1), "leases are independent by name")
            #expect(try await store.claimLease("poll:c1:other", holder: "z", ttl: ttl, now: 2, logger: Logger(label: "t")) == false)
        }
    }

    @Test("sixteen contenders on two nodes at once: exactly one gets the lease; exactly one setting-if-absent wins", arguments: StoreKind.available)
    func contention(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let nodes = [subject.store, try await subject.open()]
            let wins = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
                for i in 0..<16 {
                    let node = nodes[i % 2]
                    group.addTask { ("h\(i)", try await node.acquireLease("sweep:c1:issues", holder: "h\(i)", ttl: .seconds(30), now: 5)) }
                }
                return try await group.reduce(into: [(String, Bool)]()) { $0.append($1) }
            }
            let winners = wins.filter(\.1).map(\.0)
            #expect(winners.count == 1, "winners: \(winners)")
            #expect(try await nodes[1].leaseHolder("sweep:c1:issues")?.holder == winners.first)

            let stored = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
                for i in 0..<16 {
                    let node = nodes[i % 2]
                    group.addTask { ("v\(i)", try await node.setSettingIfAbsent("instance.id", to: "v\(i)")) }
                }
                return try await group.reduce(into: [(String, Bool)]()) { $0.append($1) }
            }
            let first = stored.filter(\.1).map(\.0)
            #expect(first.count == 1, "stored by: \(first)")
            #expect(try await nodes[0].setting("instance.id") == first.first)
            try await nodes[0].setSetting("instance.id", to: "replaced")
            #expect(try await nodes[1].setting("instance.id") == "replaced")
            #expect(try await nodes[1].setting("never.set") == nil)
        }
    }
}
