import _CryptoExtras
public import Foundation
public import Logging
public import ProviderSimulator
import TributaryCore
public import TributaryStore
import TributaryTesting

/// The simulator as an OAuth provider, for the tests of per-customer auth.
public enum OAuthRig {
    /// The OAuth client the simulator knows: id and secret.
    public static let client = (id: "sim-client", secret: "sim-client-secret-value")

    /// A providers directory under `directory` holding the simulator's manifest under four ids, each
    /// with another `api.auth`:
    /// - `simulator-oauth`: access tokens from the simulator's `/oauth/token` (style oauth2, PKCE,
    ///   HTTP Basic client authentication, the account read from the token answer);
    /// - `simulator-cc`: tokens bought with the app's client credentials (no customer grant);
    /// - `simulator-ghapp`: a GitHub App's: the connection's account is its installation id, whose
    ///   token a JWT signed with the app's key buys;
    /// - `simulator-dual`: both kinds of customer, as the shipped manifests of OAuth providers are: a
    ///   token given by hand, or (a connection of an app given none) OAuth.
    public static func providers(_ directory: URL) throws -> String {
        let folder = directory.appendingPathComponent("providers")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let shipped = try String(contentsOfFile: TestPaths.providers + "/simulator.yaml", encoding: .utf8)
        let variants: [(id: String, auth: [String])] = [
            ("simulator-oauth", [
                "style: oauth2", "oauth:", "  authorizeURL: /oauth/authorize", "  tokenURL: /oauth/token", "  revokeURL: /oauth/revoke",
                "  clientAuth: basic", "  pkce: true", "  scopes: [records.read]", "  account: /account_id",
            ]),
            ("simulator-cc", ["style: oauth2-client-credentials", "oauth:", "  tokenURL: /oauth/token", "  clientAuth: body", "  scopes: [records.read]"]),
            ("simulator-ghapp", ["style: github-app", "oauth:", "  tokenURL: /app/installations/{account}/access_tokens"]),
            ("simulator-dual", [
                "style: bearer", "oauth:", "  authorizeURL: /oauth/authorize", "  tokenURL: /oauth/token", "  revokeURL: /oauth/revoke",
                "  clientAuth: body", "  pkce: true",
            ]),
        ]
        for (id, auth) in variants {
            let text = shipped
                .replacingOccurrences(of: "\nid: simulator\n", with: "\nid: \(id)\n")
                .replacingOccurrences(of: "  auth: {style: bearer}\n", with: "  auth:\n" + auth.map { "    " + $0 + "\n" }.joined())
            try text.write(to: folder.appendingPathComponent("\(id).yaml"), atomically: true, encoding: .utf8)
        }
        return folder.path
    }

    /// A store at `database` holding app `sim-app` (the simulator's OAuth client) and its connection
    /// `c1` (provider `simulator-oauth`, account `a1`, its API the simulator at `port`), authorized
    /// with a grant the simulator just issued whose access token our clock already counts as expired:
    /// the first request renews it.
    public static func authorizedConnection(database: String, simulator: ProviderSimulator, port: Int, logger: Logger) async throws -> Store {
        let store = try Store(path: database, masterKey: TestSecrets.masterKey, logger: logger)
        _ = try await store.addApp(id: "sim-app", provider: "simulator-oauth", credentials: AppCredentials(clientID: client.id, clientSecret: client.secret), now: 0)
        _ = try await store.addConnection(id: "c1", provider: "simulator-oauth", tenant: "acme", account: "a1", app: "sim-app", toleranceSeconds: nil, webhookSecrets: [], now: 0)
        try await store.setAPICredentials(connection: "c1", token: nil, baseURL: "http://127.0.0.1:\(port)", now: 0)
        guard let grant = simulator.issueGrant(client: client.id) else { throw OAuthRigError("the simulator has no OAuth server configured") }
        _ = try await store.commitOAuthGrant(connection: "c1", TokenGrant(accessToken: grant.accessToken, refreshToken: grant.refreshToken, expiresAt: 1, scope: nil), over: nil, now: 0)
        return store
    }

    struct OAuthRigError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// A new GitHub App key pair (2048-bit RSA): the private key for `apps add`, the public one for the
    /// simulator, both PEM.
    public static func githubAppKey() throws -> (privateKey: String, publicKey: String) {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        return (key.pemRepresentation, key.publicKey.pemRepresentation)
    }
}
