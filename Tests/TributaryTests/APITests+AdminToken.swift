import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Testing
import TributaryAPI
import TributaryCore
import TributaryRuntime
import TributaryStore
import TributaryIntegrationTesting
import TributaryTesting
import Yams

/// The `/v1` API against a live engine (127.0.0.1, port 0, temp SQLite file) and against `Schemas/openapi.yaml`.

// The API, continued: the admin token.
extension APITests {
    // MARK: the admin token

    @Test("without TRIBUTARY_ADMIN_TOKEN one token is generated, only its digest stored, and it is what /v1 accepts")
    func generatedToken() async throws {
        try await Self.withAPI(adminToken: nil) { engine, client in
            // Before a token exists the API fails closed.
            #expect(try await Self.get(client, "/v1/status").status == .unauthorized)
            let token = try #require(try await engine.prepareAdminToken(), "the first start generated no token")
            #expect(token.count == 43 && token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }, "not 32 bytes of base64url: \(token)")
            #expect(try await engine.prepareAdminToken() == nil, "a later start generated (and would print) another token")
            #expect(try await engine.store.setting(AdminToken.settingKey) == TokenDigest(of: token).hex)

            #expect(try await Self.get(client, "/v1/status", headers: ["Authorization": "Bearer \(token)"]).status == .ok)
            #expect(try await Self.get(client, "/v1/status", headers: ["Authorization": "bearer \(token)"]).status == .ok, "the scheme is case-insensitive")
            #expect(try await Self.get(client, "/v1/status").status == .unauthorized, "the test token passed though another one was generated")
        }
    }

    @Test("a configured token is checked as given and not stored")
    func configuredToken() async throws {
        try await Self.withAPI { engine, client async throws in
            #expect(try await engine.prepareAdminToken() == nil)
            #expect(try await engine.store.setting(AdminToken.settingKey) == nil)
            #expect(try await Self.get(client, "/v1/status").status == .ok)
        }
    }

    @Test("token digests compare equal only when every byte matches")
    func digests() {
        let digest = TokenDigest(of: "abc")
        #expect(digest.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(TokenDigest(hex: digest.hex)?.matches(digest) == true)
        #expect(!TokenDigest(of: "abd").matches(digest))
        #expect(TokenDigest(hex: "zz") == nil)
    }
}
