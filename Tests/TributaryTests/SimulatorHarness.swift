import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import ProviderSimulator
import TributaryCore
import TributaryIntegrationTesting

/// Builds simulators on a manual clock and runs them live on 127.0.0.1, as `tributary-sim` does.
enum SimulatorHarness {
    static let token = "sim_token"

    /// A simulator with small defaults (10 records per type, port 0) changed by `configure`.
    static func make(
        clock: ManualSimulatorClock = ManualSimulatorClock(), _ configure: (inout SimulatorConfiguration) -> Void = { _ in }
    ) throws -> ProviderSimulator {
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        configuration.initialRecordsPerType = 10
        configure(&configuration)
        return try ProviderSimulator(configuration: configuration, clock: clock, logger: SimulatorRig.logger)
    }

    /// Runs `body` against the live application (routes and services) of `simulator`.
    static func live<Value: Sendable>(
        _ simulator: ProviderSimulator, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Value
    ) async throws -> Value {
        try await simulator.application().test(.live) { client in try await body(client) }
    }

    /// The `Link: <…>; rel="next"` target as a path and query the test client can send.
    static func nextLink(_ headers: HTTPFields) -> String? {
        guard let link = headers[HTTPField.Name("Link")!], link.hasSuffix("rel=\"next\""),
              let open = link.firstIndex(of: "<"), let close = link.firstIndex(of: ">") else { return nil }
        let url = link[link.index(after: open)..<close]
        guard let schemeEnd = url.firstRange(of: "://"), let pathStart = url[schemeEnd.upperBound...].firstIndex(of: "/") else { return nil }
        return String(url[pathStart...])
    }

    /// `(id, version)` of every record in the ground truth of `type` (tombstones included).
    static func truth(_ simulator: ProviderSimulator, type: String, includeDeleted: Bool = true) -> [String: Int] {
        var out: [String: Int] = [:]
        for record in simulator.records() where record.type == type && (includeDeleted || !record.deleted) {
            out[record.id] = record.version
        }
        return out
    }

    /// Keeps the highest version seen per id, as a client applying pages would.
    static func apply(_ items: [JSONValue], to seen: inout [String: Int]) {
        for item in items {
            guard let id = item["id"]?.stringValue, let version = item["version"]?.int64Value else { continue }
            seen[id] = max(seen[id] ?? 0, Int(version))
        }
    }
}

extension TestClientProtocol {
    /// `GET path` with the simulator's bearer token (or `token`, or none).
    func simGet(_ path: String, token: String? = SimulatorHarness.token) async throws -> SentResponse {
        try await send(path, method: .get, headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:], body: "")
    }
}

extension SentResponse {
    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }

    var items: [JSONValue] {
        guard case .array(let items)? = json?["items"] else { return [] }
        return items
    }
}
