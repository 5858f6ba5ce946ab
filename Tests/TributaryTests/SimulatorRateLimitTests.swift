import HTTPTypes
import HummingbirdTesting
import ProviderSimulator
import Testing
import TributaryCore
import TributaryIntegrationTesting

/// The simulator's token buckets, 429 headers in each form, and the violation counter, on a manual clock.
@Suite("Simulator rate limits")
struct SimulatorRateLimitTests {
    /// 2026-11-20T10:00:00.300Z: a third of a second past a whole second, so rounding shows.
    static let start: Int64 = 1_795_168_800_300_000

    static func limited(
        clock: ManualSimulatorClock, rate: Double = 1, burst: Int = 2, _ configure: (inout SimulatorConfiguration) -> Void = { _ in }
    ) throws -> ProviderSimulator {
        try SimulatorHarness.make(clock: clock) {
            $0.rateLimit = .init(requestsPerSecond: rate, burst: burst)
            configure(&$0)
        }
    }

    @Test("HTTP-date formatting follows RFC 9110's example")
    func httpDate() {
        #expect(SimulatorTime.httpDate(784_111_777_000_000) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(SimulatorTime.httpDate(1_795_168_802_000_000) == "Fri, 20 Nov 2026 10:00:02 GMT")
    }

    @Test("an empty bucket answers 429 with Retry-After in seconds and every rate-limit header")
    func retryAfterSeconds() async throws {
        let clock = ManualSimulatorClock(microseconds: Self.start)
        let simulator = try Self.limited(clock: clock)
        try await SimulatorHarness.live(simulator) { client async throws in
            let first = try await client.simGet("/v1/customer")
            #expect(first.status == .ok)
            #expect(first.header("X-RateLimit-Limit") == "2")
            #expect(first.header("X-RateLimit-Remaining") == "1")
            #expect(first.header("RateLimit-Policy") == #""default";q=2;w=2"#)
            #expect(first.header("RateLimit") == #""default";r=1;t=1"#)
            #expect(try await client.simGet("/v1/customer").status == .ok)
            let limited = try await client.simGet("/v1/customer")
            #expect(limited.status == .tooManyRequests)
            #expect(limited.header("Retry-After") == "1")
            #expect(limited.header("X-RateLimit-Remaining") == "0")
            #expect(limited.header("RateLimit") == #""default";r=0;t=2"#)
            #expect(simulator.counters().rateLimited == 1)
            #expect(simulator.counters().violations == 0)
        }
    }

    @Test("a request before the Retry-After deadline is a violation; one at or after it is not")
    func violations() async throws {
        let clock = ManualSimulatorClock(microseconds: Self.start)
        let simulator = try Self.limited(clock: clock, burst: 1)
        try await SimulatorHarness.live(simulator) { client async throws in
            #expect(try await client.simGet("/v1/customer").status == .ok)
            let limited = try await client.simGet("/v1/customer")
            #expect(limited.header("Retry-After") == "1")
            #expect(simulator.counters().violations == 0)

            clock.advance(microseconds: 999_999)
            _ = try await client.simGet("/v1/customer")
            #expect(simulator.counters().violations == 1, "sent a microsecond early")

            // That early request was itself answered 429 (the bucket still lacked a token) with a new deadline.
            #expect(simulator.counters().rateLimited == 2)
            clock.advance(seconds: 1)
            let served = try await client.simGet("/v1/customer")
            #expect(served.status == .ok)
            #expect(simulator.counters().violations == 1, "on time is not a violation")
        }
    }

    @Test("Retry-After as an HTTP-date names the first whole second the client may return at")
    func retryAfterHTTPDate() async throws {
        let clock = ManualSimulatorClock(microseconds: Self.start)
        let simulator = try Self.limited(clock: clock, burst: 1) { $0.retryAfterFormat = .httpDate }
        try await SimulatorHarness.live(simulator) { client async throws in
            #expect(try await client.simGet("/v1/customer").status == .ok)
            let limited = try await client.simGet("/v1/customer")
            #expect(limited.status == .tooManyRequests)
            // Earliest: 10:00:01.3 → the date says 10:00:02.
            #expect(limited.header("Retry-After") == "Fri, 20 Nov 2026 10:00:02 GMT")
            clock.set(microseconds: 1_795_168_801_900_000)
            _ = try await client.simGet("/v1/customer")
            #expect(simulator.counters().violations == 1)
            clock.set(microseconds: 1_795_168_803_000_000)
            #expect(try await client.simGet("/v1/customer").status == .ok)
            #expect(simulator.counters().violations == 1)
        }
    }

    @Test("the alternate format sends seconds, then an HTTP-date, then seconds")
    func alternate() async throws {
        let clock = ManualSimulatorClock(microseconds: Self.start)
        let simulator = try Self.limited(clock: clock, burst: 1) { $0.retryAfterFormat = .alternate }
        try await SimulatorHarness.live(simulator) { client async throws in
            _ = try await client.simGet("/v1/customer")
            var forms: [String] = []
            for _ in 0..<3 {
                let limited = try await client.simGet("/v1/customer")
                forms.append(try #require(limited.header("Retry-After")))
                clock.advance(seconds: 3)
                _ = try await client.simGet("/v1/customer")
            }
            #expect(forms[0] == "1")
            #expect(forms[1].hasSuffix(" GMT"))
            #expect(forms[2] == "1")
        }
    }

    @Test("X-RateLimit-Reset is a delta or epoch seconds as configured", arguments: [
        SimulatorConfiguration.ResetFormat.delta, .epoch,
    ])
    func resetFormats(format: SimulatorConfiguration.ResetFormat) async throws {
        // Whole second, bucket of 4 at 1/s: one request leaves 3, full again in 1 s.
        let clock = ManualSimulatorClock(microseconds: 1_795_168_800_000_000)
        let simulator = try Self.limited(clock: clock, burst: 4) { $0.resetFormat = format }
        try await SimulatorHarness.live(simulator) { client async throws in
            let response = try await client.simGet("/v1/customer")
            #expect(response.header("X-RateLimit-Remaining") == "3")
            #expect(response.header("X-RateLimit-Reset") == (format == .delta ? "1" : "1795168801"))
            #expect(response.header("RateLimit") == #""default";r=3;t=1"#, "the IETF field is always a delta")
            #expect(response.header("RateLimit-Policy") == #""default";q=4;w=4"#)
        }
    }

    @Test("chaos 429s come with Retry-After while the bucket has room, and set a deadline too")
    func chaos() async throws {
        let clock = ManualSimulatorClock(microseconds: Self.start)
        let simulator = try Self.limited(clock: clock, rate: 100, burst: 100) {
            $0.chaos.rateLimitFraction = 1
            $0.chaos.rateLimitRetryAfterSeconds = 3
        }
        try await SimulatorHarness.live(simulator) { client async throws in
            let response = try await client.simGet("/v1/customer")
            #expect(response.status == .tooManyRequests)
            #expect(response.header("Retry-After") == "3")
            #expect(response.header("X-RateLimit-Remaining") == "100")
            clock.advance(seconds: 2)
            _ = try await client.simGet("/v1/customer")
            clock.advance(seconds: 3)
            _ = try await client.simGet("/v1/customer")
            let counters = simulator.counters()
            #expect(counters.chaosRateLimited == 3 && counters.rateLimited == 3)
            #expect(counters.violations == 1)
        }
    }

    @Test("about the configured fraction of requests get a chaos 429, the same ones for a seed")
    func chaosFraction() async throws {
        func run() async throws -> [Int] {
            let simulator = try SimulatorHarness.make { $0.chaos.rateLimitFraction = 0.1; $0.seed = 9 }
            return try await SimulatorHarness.live(simulator) { client async throws in
                var statuses: [Int] = []
                for _ in 0..<200 { statuses.append(try await client.simGet("/v1/customer?limit=1").status.code) }
                return statuses
            }
        }
        let first = try await run()
        let limited = first.filter { $0 == 429 }.count
        #expect((8...35).contains(limited), "\(limited) of 200")
        #expect(try await run() == first)
    }

    @Test("tokens have separate buckets")
    func perToken() async throws {
        let clock = ManualSimulatorClock(microseconds: Self.start)
        let simulator = try Self.limited(clock: clock, burst: 1) { $0.tokens = ["a", "b"] }
        try await SimulatorHarness.live(simulator) { client async throws in
            #expect(try await client.simGet("/v1/customer", token: "a").status == .ok)
            #expect(try await client.simGet("/v1/customer", token: "a").status == .tooManyRequests)
            #expect(try await client.simGet("/v1/customer", token: "b").status == .ok)
            #expect(simulator.counters().violations == 0)
        }
    }
}
